# Precompiled headers for the third-party and standard headers that most
# translation units parse (docs/design-notes.md, "Build time"). Each library
# precompiles its own set, because its compile flags differ (pso_agent builds
# with -Os); the test executables share one precompiled header
# (pso_test_pch in tests/) through REUSE_FROM, which GCC accepts only when the
# flags that matter match: CMake adds -Winvalid-pch, so with PSO_WERROR a
# mismatch fails the build instead of silently parsing the headers again.
#
# PSO_PCH=OFF builds without them, e.g. to check that every file includes
# what it uses (a precompiled header is included in every file of its target).
# ccache caches these builds only with sloppiness pch_defines,time_macros (the
# Makefile sets it).
option(PSO_PCH "Precompile the common third-party and standard headers" ON)

# pso_precompile_headers(TARGET header...)
function(pso_precompile_headers target)
  if(PSO_PCH)
    target_precompile_headers(${target} PRIVATE ${ARGN})
  endif()
endfunction()

# pso_reuse_precompiled_headers(TARGET FROM_TARGET)
function(pso_reuse_precompiled_headers target from)
  if(PSO_PCH)
    target_precompile_headers(${target} REUSE_FROM ${from})
  endif()
endfunction()
