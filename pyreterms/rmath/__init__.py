"""R's own arithmetic where numpy's differs in the last bit (long double sums, means and variances)."""
