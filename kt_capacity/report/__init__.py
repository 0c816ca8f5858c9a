"""Rich renderables and plots of a capacity search; functions return, never print."""
