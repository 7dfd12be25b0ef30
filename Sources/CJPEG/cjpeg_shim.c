#include "cjpeg_shim.h"
// libjpeg-turbo, imported through a C shim because the library's default error handler calls
// exit() and `jpeg_create_decompress` is a macro Swift cannot see. Functions here turn libjpeg
// errors into return codes with a message, so a corrupt file is an error, not a dead process.
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <jerror.h>

struct shim_error_manager {
    struct jpeg_error_mgr base;   // must be first: libjpeg hands us a pointer to it
    jmp_buf jump;
    char *message;
};

static void shim_error_exit(j_common_ptr cinfo) {
    struct shim_error_manager *err = (struct shim_error_manager *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    snprintf(err->message, CJPEG_MESSAGE_SIZE, "%s", text);
    longjmp(err->jump, 1);
}

// Warnings (msg_level -1) are silent, except that data ending early is an error: libjpeg would
// otherwise fill the rest of the image with grey and report success.
static void shim_emit_message(j_common_ptr cinfo, int msg_level) {
    if (msg_level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) shim_error_exit(cinfo);
    if (msg_level == -1) cinfo->err->num_warnings++;
}

static void shim_output_message(j_common_ptr cinfo) { (void)cinfo; }

// a·b/255 rounded, as PIL computes it.
static inline int muldiv255(int a, int b) { int t = a * b + 128; return ((t >> 8) + t) >> 8; }

static void install_error_manager(struct shim_error_manager *err, char *message) {
    jpeg_std_error(&err->base);
    err->base.error_exit = shim_error_exit;
    err->base.emit_message = shim_emit_message;
    err->base.output_message = shim_output_message;
    err->message = message;
    message[0] = 0;
}

int cjpeg_decode_rgb(const unsigned char *data, size_t size, size_t max_pixels, unsigned char **pixels,
                     int *width, int *height, char message[CJPEG_MESSAGE_SIZE]) {
    struct jpeg_decompress_struct cinfo;
    struct shim_error_manager err;
    // volatile: these change between setjmp and a possible longjmp.
    unsigned char *volatile out = NULL;
    unsigned char *volatile row = NULL;
    *pixels = NULL; *width = 0; *height = 0;
    memset(&cinfo, 0, sizeof cinfo);
    install_error_manager(&err, message);
    cinfo.err = &err.base;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(out); free(row);
        return -1;
    }
    if (size == 0) { snprintf(message, CJPEG_MESSAGE_SIZE, "empty input"); return -1; }
    jpeg_CreateDecompress(&cinfo, JPEG_LIB_VERSION, sizeof(struct jpeg_decompress_struct));
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 14, 0xFFFF);  // Adobe marker tells whether CMYK is inverted
    jpeg_read_header(&cinfo, TRUE);
    if ((size_t)cinfo.image_width * (size_t)cinfo.image_height > max_pixels) {
        snprintf(message, CJPEG_MESSAGE_SIZE, "a %ux%u image (more than the %zu pixels a decoded image may have)",
                 (unsigned)cinfo.image_width, (unsigned)cinfo.image_height, max_pixels);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    // Gray → RGB and YCbCr → RGB are done by libjpeg; CMYK/YCCK come out as CMYK and are converted below.
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    const int w = (int)cinfo.output_width, h = (int)cinfo.output_height, comps = cinfo.output_components;
    if (w <= 0 || h <= 0 || (comps != 3 && comps != 4)) {
        snprintf(message, CJPEG_MESSAGE_SIZE, "unsupported JPEG layout (%dx%d, %d components)", w, h, comps);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    out = malloc((size_t)w * (size_t)h * 3);
    row = malloc((size_t)w * (size_t)comps);
    if (!out || !row) {
        snprintf(message, CJPEG_MESSAGE_SIZE, "out of memory for a %dx%d image", w, h);
        jpeg_destroy_decompress(&cinfo); free(out); free(row);
        return -1;
    }
    // Photoshop writes CMYK inverted and marks the file with an Adobe APP14 marker (as PIL assumes).
    const int inverted = cinfo.saw_Adobe_marker;
    while (cinfo.output_scanline < cinfo.output_height) {
        unsigned char *dst = out + (size_t)cinfo.output_scanline * (size_t)w * 3;
        if (comps == 3) {
            JSAMPROW rows[1] = { dst };
            jpeg_read_scanlines(&cinfo, rows, 1);
        } else {
            JSAMPROW rows[1] = { row };
            jpeg_read_scanlines(&cinfo, rows, 1);
            for (int x = 0; x < w; x++) {
                int c = row[4 * x], m = row[4 * x + 1], y = row[4 * x + 2], k = row[4 * x + 3];
                if (inverted) { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k; }
                // PIL's CMYK→RGB with its rounding: r = (255-k) - (c·(255-k))/255.
                const int nk = 255 - k;
                dst[3 * x]     = (unsigned char)(nk - muldiv255(c, nk));
                dst[3 * x + 1] = (unsigned char)(nk - muldiv255(m, nk));
                dst[3 * x + 2] = (unsigned char)(nk - muldiv255(y, nk));
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    *pixels = out; *width = w; *height = h;
    return 0;
}

int cjpeg_encode_rgb(const unsigned char *pixels, int width, int height, int quality,
                     unsigned char **jpeg, unsigned long *jpeg_size, char message[CJPEG_MESSAGE_SIZE]) {
    struct jpeg_compress_struct cinfo;
    struct shim_error_manager err;
    unsigned long written = 0;
    *jpeg = NULL; *jpeg_size = 0;
    memset(&cinfo, 0, sizeof cinfo);
    install_error_manager(&err, message);
    cinfo.err = &err.base;
    if (setjmp(err.jump)) {
        // The memory destination's buffer may have been reallocated by libjpeg before the error;
        // rather than risk freeing a stale pointer we leak it (only out-of-memory gets here).
        jpeg_destroy_compress(&cinfo);
        return -1;
    }
    if (width <= 0 || height <= 0) {
        snprintf(message, CJPEG_MESSAGE_SIZE, "cannot encode a %dx%d image", width, height);
        return -1;
    }
    jpeg_CreateCompress(&cinfo, JPEG_LIB_VERSION, sizeof(struct jpeg_compress_struct));
    unsigned char *mem = NULL;
    jpeg_mem_dest(&cinfo, &mem, &written);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality < 1 ? 1 : (quality > 100 ? 100 : quality), TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW rows[1] = { (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * (size_t)width * 3) };
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    jpeg_finish_compress(&cinfo);
    *jpeg = mem;
    *jpeg_size = written;
    jpeg_destroy_compress(&cinfo);
    return 0;
}

void cjpeg_free(void *pointer) { free(pointer); }

int cjpeg_lib_version(void) { return JPEG_LIB_VERSION; }
