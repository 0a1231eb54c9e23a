/* Text kernels of the per-prompt scan, in C.
 *
 * Each function does in one pass over a str what the pure-Python code in guard/normalize.py and
 * guard/matcher.py does with several regular-expression searches and str methods. The Python versions stay
 * as the reference: guard/speedups.py falls back to them when this module is not built, and the tests compare
 * the two on random text.
 *
 * Tables come from Python, built once (guard/speedups.py: a Normalizer's fold table and slow-path bitmap, the
 * separator bitmap at import, a Scanner's edge table):
 *   fold   65536 native uint32: the code point a BMP character folds to, 0 when it stays;
 *   bitmap 8192 bytes: one bit per BMP code point (the characters that need the slow path, or separators);
 *   edges  8 bytes per pattern info: the facts the boundary rules read (see EdgeInfo).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define FLAG_LEET_NEXT_TO_LETTER 1 /* an ASCII letter stands next to a digit or one of @ $ ! | */
#define FLAG_KATAKANA 2            /* a character in U+30A1..U+30FF */

static inline int bit_set(const unsigned char *bitmap, Py_UCS4 c) {
    return (bitmap[c >> 3] >> (c & 7)) & 1;
}

static inline int is_ascii_lower(Py_UCS4 c) { return c >= 'a' && c <= 'z'; }

/* A str argument, ready to be read with PyUnicode_READ (before 3.12 a string can still be in the legacy form). */
static int check_str(PyObject *arg, const char *name) {
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "%s expects a str", name);
        return -1;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(arg) < 0) {
        return -1;
    }
#endif
    return 0;
}

static inline int is_leet(Py_UCS4 c) {
    return (c >= '0' && c <= '9') || c == '@' || c == '$' || c == '!' || c == '|';
}

static int get_table(PyObject *obj, Py_buffer *view, Py_ssize_t size, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    if (view->len != size) {
        PyErr_Format(PyExc_ValueError, "%s must be %zd bytes, got %zd", what, size, view->len);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* fold_text(text, fold, slow) -> (folded, flags) or None
 *
 * Folds every BMP character through `fold` in one step (like str.translate with the same mapping). Returns
 * None when the text holds a character of the `slow` bitmap or any character above the BMP: the caller
 * takes the general path then. `flags` describe the folded text (FLAG_*). */
static PyObject *fold_text(PyObject *self, PyObject *args) {
    PyObject *text, *fold_obj, *slow_obj;
    if (!PyArg_ParseTuple(args, "UOO:fold_text", &text, &fold_obj, &slow_obj)) {
        return NULL;
    }
    Py_buffer fold_view, slow_view;
    if (get_table(fold_obj, &fold_view, 65536 * 4, "fold") < 0) {
        return NULL;
    }
    if (get_table(slow_obj, &slow_view, 8192, "slow") < 0) {
        PyBuffer_Release(&fold_view);
        return NULL;
    }
    const uint32_t *fold = (const uint32_t *)fold_view.buf;
    const unsigned char *slow = (const unsigned char *)slow_view.buf;

    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_UCS4 *out = NULL; /* allocated at the first character that changes */
    PyObject *result = NULL;
    int flags = 0;
    Py_UCS4 prev = 0;

    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c > 0xFFFF || bit_set(slow, c)) {
            PyMem_Free(out);
            PyBuffer_Release(&fold_view);
            PyBuffer_Release(&slow_view);
            Py_RETURN_NONE;
        }
        Py_UCS4 f = fold[c];
        if (f != 0 && f != c) {
            if (out == NULL) {
                out = PyMem_New(Py_UCS4, n > 0 ? n : 1);
                if (out == NULL) {
                    PyBuffer_Release(&fold_view);
                    PyBuffer_Release(&slow_view);
                    return PyErr_NoMemory();
                }
                for (Py_ssize_t k = 0; k < i; k++) {
                    out[k] = PyUnicode_READ(kind, data, k);
                }
            }
            c = f;
        }
        if (out != NULL) {
            out[i] = c;
        }
        if ((is_ascii_lower(prev) && is_leet(c)) || (is_leet(prev) && is_ascii_lower(c))) {
            flags |= FLAG_LEET_NEXT_TO_LETTER;
        }
        if (c >= 0x30A1 && c <= 0x30FF) {
            flags |= FLAG_KATAKANA;
        }
        prev = c;
    }
    PyBuffer_Release(&fold_view);
    PyBuffer_Release(&slow_view);

    PyObject *folded;
    if (out == NULL) {
        folded = Py_NewRef(text);
    } else {
        folded = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, out, n);
        PyMem_Free(out);
        if (folded == NULL) {
            return NULL;
        }
    }
    result = Py_BuildValue("(Ni)", folded, flags);
    return result;
}

/* The (text, separators bitmap) arguments of remove_separators and separator_cuts; the caller releases `view`. */
static int text_and_separators(PyObject *args, const char *format, PyObject **text, Py_buffer *view) {
    PyObject *sep_obj;
    if (!PyArg_ParseTuple(args, format, text, &sep_obj)) {
        return -1;
    }
    return get_table(sep_obj, view, 8192, "separators");
}

/* remove_separators(text, separators) -> str: text without the characters of the `separators` bitmap
 * (the same object when there are none). Characters above the BMP are never separators. */
static PyObject *remove_separators(PyObject *self, PyObject *args) {
    PyObject *text;
    Py_buffer sep_view;
    if (text_and_separators(args, "UO:remove_separators", &text, &sep_view) < 0) {
        return NULL;
    }
    const unsigned char *sep = (const unsigned char *)sep_view.buf;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);

    Py_ssize_t first = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c <= 0xFFFF && bit_set(sep, c)) {
            first = i;
            break;
        }
    }
    if (first < 0) {
        PyBuffer_Release(&sep_view);
        return Py_NewRef(text);
    }
    /* The result has the kind of the text or a narrower one; write it in the text's kind, then let
     * PyUnicode_FromKindAndData pick the narrowest. */
    char *out = n <= PY_SSIZE_T_MAX / kind ? PyMem_Malloc((size_t)kind * (size_t)n) : NULL;
    if (out == NULL) {
        PyBuffer_Release(&sep_view);
        return PyErr_NoMemory();
    }
    memcpy(out, data, (size_t)kind * (size_t)first);
    Py_ssize_t m = first;
    for (Py_ssize_t i = first + 1; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c <= 0xFFFF && bit_set(sep, c)) {
            continue;
        }
        PyUnicode_WRITE(kind, out, m, c);
        m++;
    }
    PyBuffer_Release(&sep_view);
    PyObject *result = PyUnicode_FromKindAndData(kind, out, m);
    PyMem_Free(out);
    return result;
}

/* separator_cuts(text, separators) -> list[int]: for each separator of the text, in order, the index of the
 * joined text (separators removed) before which it was removed. */
static PyObject *separator_cuts(PyObject *self, PyObject *args) {
    PyObject *text;
    Py_buffer sep_view;
    if (text_and_separators(args, "UO:separator_cuts", &text, &sep_view) < 0) {
        return NULL;
    }
    const unsigned char *sep = (const unsigned char *)sep_view.buf;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    PyObject *cuts = PyList_New(0);
    if (cuts == NULL) {
        PyBuffer_Release(&sep_view);
        return NULL;
    }
    Py_ssize_t removed = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c <= 0xFFFF && bit_set(sep, c)) {
            PyObject *v = PyLong_FromSsize_t(i - removed);
            if (v == NULL || PyList_Append(cuts, v) < 0) {
                Py_XDECREF(v);
                Py_DECREF(cuts);
                PyBuffer_Release(&sep_view);
                return NULL;
            }
            Py_DECREF(v);
            removed++;
        }
    }
    PyBuffer_Release(&sep_view);
    return cuts;
}

/* leet_tokens(text) -> list[tuple[int, int]]: (start, end) of each maximal run of a-z 0-9 @ $ ! | that could
 * be leetspeak: it holds one of 0 1 3-9 @ $ ! | (2 is no letter), at least two letters, and three characters
 * or more. guard.normalize._fold_leet decides about each; other runs never fold. */
static PyObject *leet_tokens(PyObject *self, PyObject *arg) {
    if (check_str(arg, "leet_tokens") < 0) {
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    int kind = PyUnicode_KIND(arg);
    const void *data = PyUnicode_DATA(arg);
    PyObject *spans = PyList_New(0);
    if (spans == NULL) {
        return NULL;
    }
    Py_ssize_t i = 0;
    while (i < n) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (!(is_ascii_lower(c) || is_leet(c) || c == '2')) {
            i++;
            continue;
        }
        Py_ssize_t start = i;
        int letters = 0, leet = 0;
        while (i < n) {
            c = PyUnicode_READ(kind, data, i);
            if (is_ascii_lower(c)) {
                letters++;
            } else if (c == '2') {
                /* a token character, but not a leet one */
            } else if (is_leet(c)) {
                leet = 1;
            } else {
                break;
            }
            i++;
        }
        if (leet && letters >= 2 && i - start >= 3) {
            PyObject *span = Py_BuildValue("(nn)", start, i);
            if (span == NULL || PyList_Append(spans, span) < 0) {
                Py_XDECREF(span);
                Py_DECREF(spans);
                return NULL;
            }
            Py_DECREF(span);
        }
    }
    return spans;
}

/* rare_latin_words(text, *known) -> list[tuple[int, int, str]]: (start, end, word) of every maximal run of
 * ASCII a-z and 0-9 (as re's [a-z0-9]{4,} finds them) of four characters or more that holds letters only and
 * is in none of the `known` containers (sets or dicts), in text order. */
static PyObject *rare_latin_words(PyObject *self, PyObject *args) {
    Py_ssize_t nargs = PyTuple_GET_SIZE(args);
    if (nargs < 1 || !PyUnicode_Check(PyTuple_GET_ITEM(args, 0))) {
        PyErr_SetString(PyExc_TypeError, "rare_latin_words expects a str and then sets or dicts");
        return NULL;
    }
    for (Py_ssize_t k = 1; k < nargs; k++) {
        PyObject *known = PyTuple_GET_ITEM(args, k);
        if (!PyAnySet_Check(known) && !PyDict_Check(known)) {
            PyErr_SetString(PyExc_TypeError, "rare_latin_words: known words must be sets or dicts");
            return NULL;
        }
    }
    PyObject *text = PyTuple_GET_ITEM(args, 0);
    if (check_str(text, "rare_latin_words") < 0) {
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    PyObject *out = PyList_New(0);
    if (out == NULL) {
        return NULL;
    }
    Py_ssize_t i = 0;
    while (i < n) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (!(is_ascii_lower(c) || (c >= '0' && c <= '9'))) {
            i++;
            continue;
        }
        Py_ssize_t start = i;
        int digits = 0;
        while (i < n) {
            c = PyUnicode_READ(kind, data, i);
            if (is_ascii_lower(c)) {
                i++;
            } else if (c >= '0' && c <= '9') {
                digits = 1;
                i++;
            } else {
                break;
            }
        }
        if (digits || i - start < 4) {
            continue;
        }
        PyObject *word = PyUnicode_Substring(text, start, i);
        if (word == NULL) {
            goto fail;
        }
        int is_known = 0;
        for (Py_ssize_t k = 1; k < nargs && !is_known; k++) {
            PyObject *known = PyTuple_GET_ITEM(args, k);
            int r = PyAnySet_Check(known) ? PySet_Contains(known, word) : PyDict_Contains(known, word);
            if (r < 0) {
                Py_DECREF(word);
                goto fail;
            }
            is_known = r;
        }
        if (!is_known) {
            PyObject *item = Py_BuildValue("(nnO)", start, i, word);
            if (item == NULL || PyList_Append(out, item) < 0) {
                Py_XDECREF(item);
                Py_DECREF(word);
                goto fail;
            }
            Py_DECREF(item);
        }
        Py_DECREF(word);
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

/* Script classes of a pattern's first and last character, as guard.speedups.SCRIPT_CODES numbers them. */
enum { EDGE_NONE = 0, EDGE_LATIN = 1, EDGE_KATA = 2, EDGE_HIRA = 3, EDGE_HANGUL = 4, EDGE_HAN = 5 };

typedef struct {
    unsigned char left, right, strict, pad;
    int32_t length;
} EdgeInfo;

static inline int is_latin_or_digit(Py_UCS4 c) {
    return (c < 0x250 && Py_UNICODE_ISALNUM(c)) || (c >= 0x1E00 && c <= 0x1EFF);
}
static inline int is_kata(Py_UCS4 c) { return (c >= 0x30A1 && c <= 0x30FF && c != 0x30FB) || (c >= 0x31F0 && c <= 0x31FF); }
static inline int is_hira(Py_UCS4 c) { return c >= 0x3040 && c <= 0x309F; }
static inline int is_han(Py_UCS4 c) { return (c >= 0x3400 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF); }
static inline int is_hangul(Py_UCS4 c) {
    return (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0x1100 && c <= 0x11FF) || (c >= 0x3130 && c <= 0x318F);
}

/* guard.matcher.boundary_ok, for one hit: 1 when it stands on word boundaries, 0 when not, -1 on error. */
static int boundary_ok(PyObject *text, int kind, const void *data, Py_ssize_t n, Py_ssize_t s, Py_ssize_t e,
                       const EdgeInfo *info, PyObject *particles) {
    int has_before = s > 0, has_after = e < n;
    Py_UCS4 before = has_before ? PyUnicode_READ(kind, data, s - 1) : 0;
    Py_UCS4 after = has_after ? PyUnicode_READ(kind, data, e) : 0;
    Py_ssize_t length = info->length;
    Py_ssize_t kata_len = info->strict ? 0 : length;
    switch (info->left) {
    case EDGE_LATIN:
        if (has_before && is_latin_or_digit(before)) return 0;
        break;
    case EDGE_KATA:
        if (kata_len < 5 && has_before && is_kata(before)) return 0;
        break;
    case EDGE_HIRA:
        if (length <= 3 && has_before && (is_hira(before) || is_kata(before))) return 0;
        break;
    case EDGE_HANGUL:
        if (has_before && is_hangul(before)) return 0;
        break;
    case EDGE_HAN:
        if (length == 1 && info->strict && ((has_before && is_han(before)) || (has_after && is_han(after)))) return 0;
        break;
    }
    switch (info->right) {
    case EDGE_LATIN:
        if (has_after && is_latin_or_digit(after)) return 0;
        break;
    case EDGE_KATA:
        if (kata_len < 5 && has_after && is_kata(after)) return 0;
        break;
    case EDGE_HANGUL:
        if (has_after && is_hangul(after)) {
            Py_ssize_t end = e;
            while (end < n && is_hangul(PyUnicode_READ(kind, data, end))) end++;
            PyObject *suffix = PyUnicode_Substring(text, e, end);
            if (suffix == NULL) return -1;
            int r = PySet_Contains(particles, suffix);
            Py_DECREF(suffix);
            if (r <= 0) return r; /* not a particle: 0; error: -1 */
        }
        break;
    }
    return 1;
}

/* Whether one (pattern, start, end) hit is kept: 1 yes, 0 no, -1 error. */
static int accept_one(PyObject *hit, PyObject *text, int kind, const void *data, Py_ssize_t n,
                      const unsigned char *codes, int code_size, Py_ssize_t npatterns, const EdgeInfo *edges,
                      Py_ssize_t ninfos, const unsigned char *flags, Py_ssize_t nflags, PyObject *particles) {
    Py_ssize_t pid = PyLong_AsSsize_t(PyTuple_GET_ITEM(hit, 0));
    Py_ssize_t s = PyLong_AsSsize_t(PyTuple_GET_ITEM(hit, 1));
    Py_ssize_t e = PyLong_AsSsize_t(PyTuple_GET_ITEM(hit, 2));
    if (PyErr_Occurred()) return -1;
    if (pid < 0 || pid >= npatterns || pid >= nflags || s < 0 || e > n || s > e) {
        PyErr_SetString(PyExc_IndexError, "accept_hits: a hit is out of range");
        return -1;
    }
    if (flags[pid] == 0) return 0;
    uint64_t code;
    switch (code_size) {
    case 1: code = codes[pid]; break;
    case 2: { uint16_t v; memcpy(&v, codes + 2 * pid, 2); code = v; break; }
    case 4: { uint32_t v; memcpy(&v, codes + 4 * pid, 4); code = v; break; }
    default: { uint64_t v; memcpy(&v, codes + 8 * pid, 8); code = v; break; }
    }
    if (code >= (uint64_t)ninfos) {
        PyErr_SetString(PyExc_IndexError, "accept_hits: an info code is out of range");
        return -1;
    }
    return boundary_ok(text, kind, data, n, s, e, &edges[code], particles);
}

/* accept_hits(text, hits, codes, code_size, edges, flags, particles) -> list
 *
 * The (pattern, start, end) hits of `hits` that stand on word boundaries (guard.matcher.boundary_ok) and whose
 * pattern has a flag set, in the order given. `codes`: the info code of each pattern (machine integers of
 * `code_size` bytes); `edges`: an EdgeInfo (8 bytes) per info code; `flags`: a byte per pattern;
 * `particles`: the Korean particle suffixes (a set). */
static PyObject *accept_hits(PyObject *self, PyObject *args) {
    PyObject *text, *hits, *codes_obj, *edges_obj, *flags_obj, *particles;
    int code_size;
    if (!PyArg_ParseTuple(args, "UO!OiOOO!:accept_hits", &text, &PyList_Type, &hits, &codes_obj, &code_size, &edges_obj,
                          &flags_obj, &PyFrozenSet_Type, &particles)) {
        return NULL;
    }
    if (code_size != 1 && code_size != 2 && code_size != 4 && code_size != 8) {
        PyErr_SetString(PyExc_ValueError, "accept_hits: code_size must be 1, 2, 4 or 8");
        return NULL;
    }
    Py_buffer codes_view, edges_view, flags_view;
    if (PyObject_GetBuffer(codes_obj, &codes_view, PyBUF_SIMPLE) < 0) return NULL;
    if (PyObject_GetBuffer(edges_obj, &edges_view, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&codes_view);
        return NULL;
    }
    if (PyObject_GetBuffer(flags_obj, &flags_view, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&codes_view);
        PyBuffer_Release(&edges_view);
        return NULL;
    }
    Py_ssize_t npatterns = codes_view.len / code_size;
    Py_ssize_t ninfos = edges_view.len / (Py_ssize_t)sizeof(EdgeInfo);
    const unsigned char *codes = codes_view.buf, *flags = flags_view.buf;
    const EdgeInfo *edges = edges_view.buf;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    PyObject *out = PyList_New(0);
    if (out == NULL) goto done;
    /* The particle lookup compares strings, which could run Python code: the list is read afresh each time
     * and the hit is held while it is used. */
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(hits); k++) {
        PyObject *hit = PyList_GET_ITEM(hits, k);
        if (!PyTuple_Check(hit) || PyTuple_GET_SIZE(hit) != 3) {
            PyErr_SetString(PyExc_TypeError, "accept_hits: each hit must be a (pattern, start, end) tuple");
            goto fail;
        }
        Py_INCREF(hit);
        int ok = accept_one(hit, text, kind, data, n, codes, code_size, npatterns, edges, ninfos, flags,
                            flags_view.len, particles);
        if (ok > 0 && PyList_Append(out, hit) < 0) ok = -1;
        Py_DECREF(hit);
        if (ok < 0) goto fail;
    }
    goto done;
fail:
    Py_CLEAR(out);
done:
    PyBuffer_Release(&codes_view);
    PyBuffer_Release(&edges_view);
    PyBuffer_Release(&flags_view);
    return out;
}

static PyMethodDef methods[] = {
    {"accept_hits", accept_hits, METH_VARARGS, "The hits on word boundaries whose pattern has a flag set."},
    {"rare_latin_words", rare_latin_words, METH_VARARGS, "Latin words of the typo pass that no known set holds."},
    {"leet_tokens", leet_tokens, METH_O, "Spans of the runs that could be leetspeak."},
    {"fold_text", fold_text, METH_VARARGS, "Fold BMP characters in one step; None when the slow path is needed."},
    {"remove_separators", remove_separators, METH_VARARGS, "The text without its separators."},
    {"separator_cuts", separator_cuts, METH_VARARGS, "Joined-text index before which each separator was removed."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "guard._speedups", "Text kernels of the per-prompt scan.", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "FLAG_LEET_NEXT_TO_LETTER", FLAG_LEET_NEXT_TO_LETTER) < 0 ||
        PyModule_AddIntConstant(m, "FLAG_KATAKANA", FLAG_KATAKANA) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
