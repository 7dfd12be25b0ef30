// libjpeg-turbo behind a small C shim. Two reasons it cannot be called from Swift directly:
// `jpeg_create_decompress` is a macro Swift does not import, and the library's default error
// handler calls exit(). Here every libjpeg error longjmps back into the shim and comes out as a
// return code plus a message, so a corrupt or truncated file is an error, not a dead process.
#pragma once
#include <stdio.h>
#include <stddef.h>
#include <jpeglib.h>

#define CJPEG_MESSAGE_SIZE 256

/// Decodes a JPEG held in memory to 8-bit interleaved RGB (grayscale and CMYK/YCCK are converted).
/// On success returns 0 and sets *pixels (malloc'd, width*height*3 bytes; the caller frees it with
/// cjpeg_free), *width and *height. On failure returns -1, *pixels is NULL and `message` holds
/// libjpeg's reason. A file that ends before the image data does ("Premature end of JPEG file")
/// is an error here, as it is in PIL, rather than an image padded with grey. Images of more than
/// `max_pixels` pixels are refused after the header, before libjpeg allocates anything for them.
/// EXIF orientation (APP1) is not applied: pixels come out in stored order, as PIL's Image.open
/// gives them (pytorch-fid, clean-fid and torch-fidelity do not call exif_transpose either).
int cjpeg_decode_rgb(const unsigned char *data, size_t size, size_t max_pixels, unsigned char **pixels,
                     int *width, int *height, char message[CJPEG_MESSAGE_SIZE]);

/// Encodes 8-bit interleaved RGB (row-major, width*3 bytes a row) as a baseline JPEG with libjpeg's
/// defaults (4:2:0 chroma subsampling, standard tables scaled to `quality` 1...100).
/// On success returns 0 and sets *jpeg (malloc'd; free with cjpeg_free) and *jpeg_size.
int cjpeg_encode_rgb(const unsigned char *pixels, int width, int height, int quality,
                     unsigned char **jpeg, unsigned long *jpeg_size, char message[CJPEG_MESSAGE_SIZE]);

void cjpeg_free(void *pointer);

/// libjpeg's version as compiled (JPEG_LIB_VERSION, e.g. 62) and libjpeg-turbo's, when known.
int cjpeg_lib_version(void);
