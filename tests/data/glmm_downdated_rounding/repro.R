library(lme4)
invisible(Sys.setlocale("LC_COLLATE", "C"))  # parity compares in C collation
## run from this directory: Rscript repro.R
d <- read.csv("data.csv", colClasses = c("y" = "numeric", "x" = "numeric", "f" = "character", "g" = "character", "o" = "numeric"), na.strings = "NA", encoding = "UTF-8", check.names = FALSE)
d[["g"]] <- factor(d[["g"]], levels = c("10", "ß", "日本", "x 1", ":c", "a,b", "x-1", "Z"))
glf <- glFormula(y ~ x + f + (1 | g), data = d, family = binomial(link = "cauchit"), offset = o)
resp <- lme4:::mkRespMod(glf$fr, family = binomial(link = "cauchit"))
gfit <- glmer(y ~ x + f + (1 | g), data = d, family = binomial(link = "cauchit"), offset = o, nAGQ = 3L)
print(summary(gfit))
