# ctest's package-consumer: installs the build's package into a fresh prefix, then configures,
# builds and runs test/package/consumer against it (find_package(ds) from another project).
# -DBUILD=<ds build dir> -DSRC=<consumer source dir> -DWORK=<scratch dir>
file(REMOVE_RECURSE "${WORK}")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD}" --prefix "${WORK}/prefix"
                        --component Unspecified RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
foreach(f lib/cmake/ds/dsConfig.cmake lib/cmake/ds/dsConfigVersion.cmake lib/cmake/ds/dsTargets.cmake
          include/runtime/Pipeline.h)
  if(NOT EXISTS "${WORK}/prefix/${f}")
    message(FATAL_ERROR "the install lacks ${f}")
  endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -S "${SRC}" -B "${WORK}/build" -G Ninja
                        -DCMAKE_PREFIX_PATH=${WORK}/prefix RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the consumer failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK}/build" RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the consumer failed (${rc})")
endif()
execute_process(COMMAND "${WORK}/build/consumer" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message(STATUS "${out}")
if(rc OR NOT out MATCHES "bundle: target sm_90, 1 argument")
  message(FATAL_ERROR "the consumer failed (${rc}): ${out}")
endif()
