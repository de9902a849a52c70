"""The overfitted backend (Cool-chic / C3 family): every file carries its own tiny decoder.

For each image the encoder searches, by gradient descent, a set of latent
grids at 7 resolutions, a small context model that prices them, and a small
synthesis network that turns the upsampled grids into pixels; all three are
quantized to integers and written into the file. No training data and no
shipped weights are involved, so the model ID names only the decoder's
*architecture* (see :mod:`.architecture`).

Layout: :mod:`.architecture` (constants and limits, torch-free),
:mod:`.integer_net` (the exact integer decoder networks, numpy),
:mod:`.laplace` (the fixed family of integer probability tables),
:mod:`.payload` (the byte layout, numpy + constriction), :mod:`.backend`
(the glue to the codec core) and :mod:`.encoder` (the torch optimisation, the
only module that imports torch, loaded only to encode).
"""
