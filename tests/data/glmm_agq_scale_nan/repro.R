library(lme4)
invisible(Sys.setlocale("LC_COLLATE", "C"))  # parity compares in C collation
## run from this directory: Rscript repro.R
d <- read.csv("data.csv", colClasses = c("y" = "numeric", "g" = "character"), na.strings = "NA", encoding = "UTF-8", check.names = FALSE)
glf <- glFormula(y ~ 1 + (1 | g), data = d, family = Gamma(link = "identity"))
resp <- lme4:::mkRespMod(glf$fr, family = Gamma(link = "identity"))
gfit <- glmer(y ~ 1 + (1 | g), data = d, family = Gamma(link = "identity"), nAGQ = 12L)
print(summary(gfit))
print(deviance(gfit))
