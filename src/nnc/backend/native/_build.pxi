# Included at the end of every native module: the build options it was compiled with (setup.py's
# NNC_BUILD_INFO, e.g. "openmp=1 debug=0 sanitize=0 compiler=gcc-12.2.0"), read by nnc.show_config().
cdef extern from *:
    """
    #ifndef NNC_BUILD_INFO
    #define NNC_BUILD_INFO "unknown"
    #endif
    """
    const char *_NNC_BUILD_INFO "NNC_BUILD_INFO"

BUILD_INFO = _NNC_BUILD_INFO.decode()
