"""Built-in PDE benchmark generators, their solvers, and readers for published benchmark files."""
