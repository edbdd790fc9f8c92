# gatec_add_kernels(<target> SOURCES <file.gate>... TARGETS <gatec target>...
#                   [OPTIONS <gatec option>...])
#
# Compiles each .gate file at build time with Gatec::gatec and adds the result
# to <target>: for a cpu target, the object file joins the target's sources,
# the generated header <stem>.h is on its include path (namespace
# gatec_kernels::<stem>), and Gatec::OpenMP is linked. A .gate file that
# changes, or a new gatec, rebuilds its outputs. OPTIONS are passed to every
# gatec call (e.g. --chunk-size=32).
#
# One cpu target per call: the kernels' C symbols are named after the
# kernels, so two CPU builds of one kernel cannot link into one program.
function(gatec_add_kernels target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "SOURCES;TARGETS;OPTIONS")
  if(NOT TARGET ${target})
    message(FATAL_ERROR "gatec_add_kernels: '${target}' is not a target")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR
      "gatec_add_kernels: unexpected arguments '${ARG_UNPARSED_ARGUMENTS}'; "
      "expected SOURCES, TARGETS and OPTIONS")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "gatec_add_kernels(${target}): no SOURCES given")
  endif()
  if(NOT ARG_TARGETS)
    set(ARG_TARGETS cpu)
  endif()

  set(cpu_targets "")
  set(cuda_targets "")
  foreach(gatec_target IN LISTS ARG_TARGETS)
    if(gatec_target MATCHES "^cpu(:.*)?$")
      list(APPEND cpu_targets ${gatec_target})
    elseif(gatec_target MATCHES "^cuda:")
      if(NOT GATEC_CUDA_BACKEND)
        message(FATAL_ERROR
          "gatec_add_kernels(${target}): TARGETS ${gatec_target} needs "
          "gatec's CUDA backend, which this gatec (${Gatec_VERSION}) does "
          "not have; use a cpu target")
      endif()
      list(APPEND cuda_targets ${gatec_target})
    else()
      message(FATAL_ERROR
        "gatec_add_kernels(${target}): unknown target '${gatec_target}' "
        "(see gatec --help for --target)")
    endif()
  endforeach()
  list(LENGTH cpu_targets num_cpu_targets)
  if(num_cpu_targets GREATER 1)
    message(FATAL_ERROR
      "gatec_add_kernels(${target}): one cpu target per call, got "
      "'${cpu_targets}'")
  endif()
  # The CUDA headers of one call share cuda/<stem>.h.
  list(LENGTH cuda_targets num_cuda_targets)
  if(num_cuda_targets GREATER 1)
    message(FATAL_ERROR
      "gatec_add_kernels(${target}): one cuda target per call, got "
      "'${cuda_targets}'")
  endif()

  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/gatec/${target})
  set(stems "")
  foreach(source IN LISTS ARG_SOURCES)
    get_filename_component(source ${source} ABSOLUTE)
    get_filename_component(stem ${source} NAME_WE)
    if(stem IN_LIST stems)
      message(FATAL_ERROR
        "gatec_add_kernels(${target}): two sources named '${stem}.gate'; "
        "their headers and objects would collide")
    endif()
    list(APPEND stems ${stem})
    foreach(gatec_target IN LISTS cpu_targets)
      set(object ${out_dir}/${stem}.o)
      set(header ${out_dir}/${stem}.h)
      add_custom_command(
        OUTPUT ${object} ${header}
        COMMAND Gatec::gatec ${source} --target=${gatec_target}
                --emit=obj,header -o ${out_dir} ${ARG_OPTIONS}
        DEPENDS ${source} $<TARGET_FILE:Gatec::gatec>
                $<TARGET_FILE:Gatec::Compiler>
        COMMENT "gatec: compiling ${stem}.gate for ${gatec_target}"
        VERBATIM)
      set_source_files_properties(${object} PROPERTIES
        EXTERNAL_OBJECT TRUE GENERATED TRUE)
      target_sources(${target} PRIVATE ${object} ${header})
    endforeach()
    # CUDA: a header embedding the PTX, included as "cuda/<stem>.h".
    foreach(gatec_target IN LISTS cuda_targets)
      set(header ${out_dir}/cuda/${stem}.h)
      add_custom_command(
        OUTPUT ${header}
        COMMAND Gatec::gatec ${source} --target=${gatec_target}
                --emit=header -o ${out_dir}/cuda ${ARG_OPTIONS}
        DEPENDS ${source} $<TARGET_FILE:Gatec::gatec>
                $<TARGET_FILE:Gatec::Compiler>
        COMMENT "gatec: compiling ${stem}.gate for ${gatec_target}"
        VERBATIM)
      target_sources(${target} PRIVATE ${header})
    endforeach()
  endforeach()
  target_include_directories(${target} PRIVATE ${out_dir})
  if(cpu_targets)
    target_link_libraries(${target} PRIVATE Gatec::OpenMP)
  endif()
  if(cuda_targets)
    # The headers call the CUDA driver API (cuda.h, libcuda).
    find_package(CUDAToolkit REQUIRED)
    target_link_libraries(${target} PRIVATE CUDA::cuda_driver)
  endif()
endfunction()
