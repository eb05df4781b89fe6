"""The model formula: R's expression syntax (reader, tree, deparser), the terms algebra, random-effects
bars and the allowlisted evaluation of formula variables."""
