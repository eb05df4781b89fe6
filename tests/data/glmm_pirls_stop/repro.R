library(lme4)
invisible(Sys.setlocale("LC_COLLATE", "C"))  # parity compares in C collation
## run from this directory: Rscript repro.R
d <- read.csv("data.csv", colClasses = c("y" = "numeric", "x" = "numeric", "z" = "numeric", "g" = "character"), na.strings = "NA", encoding = "UTF-8", check.names = FALSE)
glf <- glFormula(y ~ x + z + (x | g), data = d, family = poisson(link = "log"))
resp <- lme4:::mkRespMod(glf$fr, family = poisson(link = "log"))
gfit <- glmer(y ~ x + z + (x | g), data = d, family = poisson(link = "log"), nAGQ = 1L)
print(summary(gfit))
print(getME(gfit, "theta"))
