# Copies every generated Markdown reference under FROM (flattened) into TO.
file(GLOB_RECURSE docs "${FROM}/*.md")
file(MAKE_DIRECTORY "${TO}")
foreach(doc ${docs})
  file(COPY "${doc}" DESTINATION "${TO}")
endforeach()
