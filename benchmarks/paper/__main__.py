"""``python -m benchmarks.paper``: the runner's command line (:func:`benchmarks.paper.cli.main`)."""

from .cli import main

if __name__ == "__main__":
    main()
