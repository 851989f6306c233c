# The web dashboard (docs/dashboard.md), included by controller/service's
# CMakeLists.txt so its sources join pso_controller. The assets become byte
# arrays at build time (embed_assets.cmake); changing one regenerates them.
set(PSO_DASHBOARD_DIR ${CMAKE_CURRENT_LIST_DIR})
set(PSO_DASHBOARD_ASSETS index.html app.css app.js favicon.svg)
set(pso_dashboard_asset_files "")
foreach(asset IN LISTS PSO_DASHBOARD_ASSETS)
  list(APPEND pso_dashboard_asset_files ${PSO_DASHBOARD_DIR}/assets/${asset})
endforeach()
# Commas, not semicolons: a list would split into several command arguments.
string(REPLACE ";" "," pso_dashboard_asset_names "${PSO_DASHBOARD_ASSETS}")
set(pso_dashboard_generated ${CMAKE_CURRENT_BINARY_DIR}/dashboard/dashboard_assets.cpp)
add_custom_command(
  OUTPUT ${pso_dashboard_generated}
  COMMAND ${CMAKE_COMMAND} -DASSET_DIR=${PSO_DASHBOARD_DIR}/assets
          -DASSETS=${pso_dashboard_asset_names} -DOUTPUT=${pso_dashboard_generated}
          -P ${PSO_DASHBOARD_DIR}/embed_assets.cmake
  DEPENDS ${pso_dashboard_asset_files} ${PSO_DASHBOARD_DIR}/embed_assets.cmake
  COMMENT "Embedding the dashboard's assets"
  VERBATIM)
target_sources(pso_controller PRIVATE
  ${PSO_DASHBOARD_DIR}/dashboard_handler.cpp
  ${pso_dashboard_generated})
