// libjpeg-turbo, imported through a C shim because the library's default error handler calls
// exit() and `jpeg_create_decompress` is a macro Swift cannot see. Functions here turn libjpeg
// errors into return codes with a message, so a corrupt file is an error, not a dead process.
#pragma once
#include <stdio.h>
#include <stddef.h>
#include <jpeglib.h>
