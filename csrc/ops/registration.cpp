// Empty Python module so that `from dglclust import _C` loads the shared library, which runs the
// TORCH_LIBRARY / TORCH_LIBRARY_IMPL static registrations of every op compiled into it.
// The module records the torch version it was compiled against (`_C.torch_version`), which
// dglclust/ops/_ext.py compares with the running torch.
#include <Python.h>

#define DGLCLUST_STR_(x) #x
#define DGLCLUST_STR(x) DGLCLUST_STR_(x)
#ifndef DGLCLUST_TORCH_VERSION
#define DGLCLUST_TORCH_VERSION unknown
#endif
// The widest x86 vector set the CPU kernels were compiled for (all sources share the flags):
// kernels whose float32 speed rests on vector exp/log (gram_pairwise_sum) are only preferred over
// torch's own ops when it is not "none" (dglclust/ops/_ext.py: cpu_simd()).
#if defined(__AVX512F__)
#define DGLCLUST_CPU_SIMD "avx512"
#elif defined(__AVX2__)
#define DGLCLUST_CPU_SIMD "avx2"
#else
#define DGLCLUST_CPU_SIMD "none"
#endif

extern "C" {
PyObject* PyInit__C(void) {
  static struct PyModuleDef module_def = {
      PyModuleDef_HEAD_INIT,
      "_C",   // name
      "dglclust fused ops (registered under torch.ops.dglclust)",
      -1,     // size
      nullptr // methods
  };
  PyObject* m = PyModule_Create(&module_def);
  if (m != nullptr &&
      (PyModule_AddStringConstant(m, "torch_version", DGLCLUST_STR(DGLCLUST_TORCH_VERSION)) < 0 ||
       PyModule_AddStringConstant(m, "cpu_simd", DGLCLUST_CPU_SIMD) < 0)) {
    Py_DECREF(m);
    return nullptr;
  }
  return m;
}
}
