## export_datasets.R -- write lme4's small example data sets for pyreterms (no R needed at run time).
##
##   Rscript r_scripts/export_datasets.R [OUTDIR]        (default OUTDIR: pyreterms/data)
##
## For each data set NAME writes OUTDIR/NAME.csv: first column "rownames" (R's row names), then the
## columns; doubles with the shortest of 15 or 17 significant digits that reads back to the same
## double ("%.15g" / "%.17g"), integers as decimal, logicals TRUE/FALSE, factors and character
## columns by their labels; NA is written as the unquoted token NA (the script stops if a factor or
## character column both has NAs and a value "NA", which would be ambiguous).
## OUTDIR/datasets.json describes every column: type (double | integer | logical | character |
## factor), and for factors the levels (in R's order) and the ordered flag; plus the R, lme4 and
## Matrix versions.  Read them with pyreterms.datasets.load_dataset().

suppressPackageStartupMessages(library(lme4))

args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args) >= 1L) args[[1L]] else file.path("pyreterms", "data")
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)

datasets <- c("sleepstudy", "Dyestuff", "Dyestuff2", "Penicillin", "Pastes", "cake", "cbpp")

fmt_double <- function(x) {
  s <- sprintf("%.15g", x)
  bad <- !is.na(x) & is.finite(x) & as.numeric(s) != x
  s[bad] <- sprintf("%.17g", x[bad])
  s[is.na(x) & !is.nan(x)] <- "NA"
  s[is.nan(x)] <- "NaN"
  s[x %in% Inf] <- "Inf"
  s[x %in% -Inf] <- "-Inf"
  s
}

csv_quote <- function(s) ifelse(is.na(s), "NA", paste0("\"", gsub("\"", "\"\"", s, fixed = TRUE), "\""))

column_info <- function(name, x) {
  if (is.factor(x)) {
    if (anyNA(x) && "NA" %in% levels(x)) stop("column ", name, ": NA and level \"NA\" both present")
    list(info = list(name = name, type = "factor", levels = I(levels(x)), ordered = is.ordered(x)),
         text = csv_quote(as.character(x)))
  } else if (is.character(x)) {
    if (anyNA(x) && any(x == "NA", na.rm = TRUE)) stop("column ", name, ": NA and \"NA\" both present")
    list(info = list(name = name, type = "character"), text = csv_quote(x))
  } else if (is.logical(x)) {
    list(info = list(name = name, type = "logical"), text = ifelse(is.na(x), "NA", ifelse(x, "TRUE", "FALSE")))
  } else if (is.integer(x)) {
    list(info = list(name = name, type = "integer"), text = ifelse(is.na(x), "NA", as.character(x)))
  } else if (is.double(x) && is.null(dim(x))) {
    list(info = list(name = name, type = "double"), text = fmt_double(x))
  } else stop("column ", name, ": unsupported class ", paste(class(x), collapse = "/"))
}

meta <- list(
  generated_by = "r_scripts/export_datasets.R",
  R = paste(R.version$major, R.version$minor, sep = "."),
  lme4 = as.character(packageVersion("lme4")),
  Matrix = as.character(packageVersion("Matrix")),
  datasets = list())

for (nm in datasets) {
  d <- get(nm, envir = asNamespace("lme4"))
  stopifnot(is.data.frame(d))
  cols <- Map(column_info, names(d), as.list(d))
  text <- do.call(cbind, c(list(csv_quote(rownames(d))), lapply(cols, `[[`, "text")))
  header <- paste(csv_quote(c("rownames", names(d))), collapse = ",")
  lines <- c(header, apply(text, 1L, paste, collapse = ","))
  file <- paste0(nm, ".csv")
  con <- file(file.path(outdir, file), open = "wb")
  writeLines(enc2utf8(lines), con, sep = "\n", useBytes = TRUE)
  close(con)
  meta$datasets[[nm]] <- list(
    file = file, package = "lme4", nrow = nrow(d),
    automatic_rownames = .row_names_info(d) < 0L,
    columns = unname(lapply(cols, `[[`, "info")))
  cat("wrote", file.path(outdir, file), "\n")
}

json <- jsonlite::toJSON(meta, auto_unbox = TRUE, pretty = TRUE, digits = NA)
writeLines(json, file.path(outdir, "datasets.json"), useBytes = TRUE)
cat("wrote", file.path(outdir, "datasets.json"), "\n")
