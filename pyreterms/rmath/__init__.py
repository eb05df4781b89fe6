"""R's own arithmetic and random numbers where numpy's differ from R's (long double sums, means and variances,
the reference BLAS, the C library's elementwise functions, R's random number generators and ``qnorm``)."""
