// Empty Python module so that `from dglclust import _C` loads the shared library, which runs the
// TORCH_LIBRARY / TORCH_LIBRARY_IMPL static registrations of every op compiled into it.
#include <Python.h>

extern "C" {
PyObject* PyInit__C(void) {
  static struct PyModuleDef module_def = {
      PyModuleDef_HEAD_INIT,
      "_C",   // name
      "dglclust fused ops (registered under torch.ops.dglclust)",
      -1,     // size
      nullptr // methods
  };
  return PyModule_Create(&module_def);
}
}
