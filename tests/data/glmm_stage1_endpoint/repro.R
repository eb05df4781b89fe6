library(lme4)
invisible(Sys.setlocale("LC_COLLATE", "C"))  # parity compares in C collation
## run from this directory: Rscript repro.R
d <- read.csv("data.csv", colClasses = c("y" = "numeric", "f" = "character", "g" = "numeric", "h" = "character"), na.strings = "NA", encoding = "UTF-8", check.names = FALSE)
glf <- glFormula(y ~ f + (1 | g/h), data = d, family = binomial(link = "cauchit"))
resp <- lme4:::mkRespMod(glf$fr, family = binomial(link = "cauchit"))
gfit <- glmer(y ~ f + (1 | g/h), data = d, family = binomial(link = "cauchit"), nAGQ = 1L)
print(summary(gfit))
print(getME(gfit, "theta"))
