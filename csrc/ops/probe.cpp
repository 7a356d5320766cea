// dglclust::probe -- a trivial op whose only job is to prove that the extension loaded and that
// dispatch reaches our kernels (tests compare it with x + 1).
#include <torch/library.h>

TORCH_LIBRARY(dglclust, m) {
  m.def("probe(Tensor x) -> Tensor");
}
