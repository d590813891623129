"""Domain rules and database access. No Reflex import here: states, HTTP routes, seeds and
benchmarks all call these functions with a sqlmodel Session."""
