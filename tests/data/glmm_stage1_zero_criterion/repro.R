library(lme4)
invisible(Sys.setlocale("LC_COLLATE", "C"))  # parity compares in C collation
## run from this directory: Rscript repro.R
d <- read.csv("data.csv", colClasses = c("y" = "numeric", "x" = "numeric", "z" = "numeric", "f" = "character", "g" = "character"), na.strings = "NA", encoding = "UTF-8", check.names = FALSE)
d[["g"]] <- factor(d[["g"]], levels = c("1", "3", "4", "2"))
glf <- glFormula(y ~ x + z + f + (0 + x | g), data = d, family = binomial(link = "cloglog"))
resp <- lme4:::mkRespMod(glf$fr, family = binomial(link = "cloglog"))
gfit <- glmer(y ~ x + z + f + (0 + x | g), data = d, family = binomial(link = "cloglog"), nAGQ = 1L)
print(summary(gfit))
