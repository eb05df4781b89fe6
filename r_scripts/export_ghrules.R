## export_ghrules.R -- writes lme4's Gauss-Hermite rules (lme4:::fgq_rules, orders 1..100: nodes z and
## weights w) to pyreterms/data/ghrules.json as R's hexadecimal doubles (sprintf("%a"): exact), for
## pyreterms.glmm.ghrule.GHrule.  Run from the repository root: Rscript r_scripts/export_ghrules.R
r <- lme4:::fgq_rules
hex <- function(v) paste0("\"", sprintf("%a", v), "\"", collapse = ",")
rows <- vapply(seq_along(r), function(k)
  sprintf("\"%d\": {\"z\": [%s], \"w\": [%s]}", k, hex(r[[k]]$z), hex(r[[k]]$w)), "")
cat("{\n", paste(rows, collapse = ",\n"), "\n}\n", sep = "", file = "pyreterms/data/ghrules.json")
