# CMake package (find_package(mpisnap CONFIG)) and pkg-config file.
