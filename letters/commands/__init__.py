"""The commands that look at a campaign without building it, as library functions: `check`,
`preview`, `list` (listing), watch mode's saves, and the print job that `build --print`
finishes with envelopes and labels."""
