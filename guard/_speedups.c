/* Text kernels of the per-prompt scan, in C.
 *
 * Each function does in one pass over a str what the pure-Python code in guard/normalize.py and
 * guard/matcher.py does with several regular-expression searches and str methods. The Python versions stay
 * as the reference: guard/speedups.py falls back to them when this module is not built, and the tests compare
 * the two on random text.
 *
 * Tables come from Python, built once (guard/speedups.py: a Normalizer's fold table and slow-path bitmap, the
 * separator bitmap at import, a Scanner's edge table; guard/matcher.py: the boundary words at import):
 *   fold   65536 native uint32: the code point a BMP character folds to, 0 when it stays;
 *   bitmap 8192 bytes: one bit per BMP code point (the characters that need the slow path, separators, or
 *          the homoglyphs fold_text reports);
 *   edges  8 bytes per pattern info: the facts the boundary rules read (see EdgeInfo).
 *
 * API_VERSION changes whenever a function's arguments or results change, so guard/speedups.py can refuse a
 * module built from older sources (an editable install whose extension was not rebuilt) instead of calling it
 * with arguments it does not take.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define API_VERSION 9
#define FLAG_LEET_NEXT_TO_LETTER 1 /* an ASCII letter stands next to a digit or one of @ $ ! | */
#define FLAG_KATAKANA 2            /* a character in U+30A1..U+30FF */
#define FLAG_MARKED 4              /* a character of fold_text's `marked` bitmap */
#define FLAG_ASTRAL 8              /* a character above the BMP */

static inline int bit_set(const unsigned char *bitmap, Py_UCS4 c) {
    return (bitmap[c >> 3] >> (c & 7)) & 1;
}

static inline int is_ascii_lower(Py_UCS4 c) { return c >= 'a' && c <= 'z'; }

/* CJK, kana, Hangul and the like (guard.normalize's _EAST_ASIAN): letters to Unicode, but they end a word for the
 * homoglyph rule, so that Фарузан與Whimsicott is two words and the Cyrillic one is not folded for the Latin one. */
static inline int is_east_asian(Py_UCS4 c) {
    return (c >= 0x2E80 && c <= 0xD7FF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFF66 && c <= 0xFFDC) ||
           (c >= 0x20000 && c <= 0x3FFFF);
}

static inline int is_word_char(Py_UCS4 c) { return Py_UNICODE_ISALNUM(c) && !is_east_asian(c); }

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

/* A growing folded text and, for each of its characters, the index of the text character it came from. */
typedef struct {
    Py_UCS4 *chars;
    Py_ssize_t *from;
    Py_ssize_t len, cap;
} FoldBuffer;

static int fold_push(FoldBuffer *b, Py_UCS4 c, Py_ssize_t from) {
    if (b->len == b->cap) {
        Py_ssize_t cap = b->cap * 2 + 16;
        Py_UCS4 *chars = PyMem_Realloc(b->chars, cap * sizeof(Py_UCS4));
        if (chars == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        b->chars = chars;
        Py_ssize_t *from_ = PyMem_Realloc(b->from, cap * sizeof(Py_ssize_t));
        if (from_ == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        b->from = from_;
        b->cap = cap;
    }
    b->chars[b->len] = c;
    b->from[b->len] = from;
    b->len++;
    return 0;
}

/* The value of a character above the BMP in `map` (keyed by the code point as an int when `by_int`, else by the
 * one-character str): a new reference, NULL with no error when it has none, NULL with an error on failure. */
static PyObject *astral_lookup(PyObject *map, Py_UCS4 c, int by_int) {
    PyObject *key = by_int ? PyLong_FromUnsignedLong(c) : PyUnicode_FromOrdinal(c);
    if (key == NULL) {
        return NULL;
    }
    PyObject *value = PyDict_GetItemWithError(map, key);
    Py_DECREF(key);
    Py_XINCREF(value);
    return value;
}

/* A new buffer of n code points holding the text's first `upto`; NULL with MemoryError set on failure. */
static Py_UCS4 *ucs4_copy(int kind, const void *data, Py_ssize_t n, Py_ssize_t upto) {
    Py_UCS4 *out = PyMem_New(Py_UCS4, n > 0 ? n : 1);
    if (out == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t k = 0; k < upto; k++) {
        out[k] = PyUnicode_READ(kind, data, k);
    }
    return out;
}

/* The FLAG_* facts of folded character f after folded character prev. */
static inline int fold_flags(Py_UCS4 prev, Py_UCS4 f) {
    int flags = 0;
    if ((is_ascii_lower(prev) && is_leet(f)) || (is_leet(prev) && is_ascii_lower(f))) {
        flags |= FLAG_LEET_NEXT_TO_LETTER;
    }
    if (f >= 0x30A1 && f <= 0x30FF) {
        flags |= FLAG_KATAKANA;
    }
    return flags;
}

/* The FLAG_MARKED and FLAG_ASTRAL facts of folded character f; `marked` may be NULL. */
static inline int mark_flags(const unsigned char *marked, Py_UCS4 f) {
    if (f > 0xFFFF) {
        return FLAG_ASTRAL;
    }
    return marked != NULL && bit_set(marked, f) ? FLAG_MARKED : 0;
}

/* fold_text(text, fold, irregular, special, one_to_one[, marked]) -> (folded, offsets, flags) or None
 *
 * Folds a text in one pass. Each character of the `irregular` bitmap, and each character above the BMP that
 * `special` holds, is replaced by its value in `special` (a str of any length, possibly empty); every other BMP
 * character folds through `fold` (0: it stays), and every other character above the BMP through `one_to_one`
 * (code point -> one-character str), like str.translate. `flags` describe the folded text (FLAG_*): FLAG_MARKED
 * says that it holds a character of the optional `marked` bitmap (one bit per BMP code point), and FLAG_ASTRAL
 * that it holds a character above the BMP, so the caller need not search the folded text for either.
 * Until the first irregular character the text is folded in place (copied only at the first character that
 * changes) and `offsets` is None: each folded character is its text character's. From there on each folded
 * character records the index of the text character it came from: offsets[i], with offsets[len(folded)] ==
 * len(text), as guard.normalize.NormalizedText keeps them.
 * Returns None when the text holds an irregular character that `special` does not hold (a kana voicing mark,
 * which composes with the character before it) or a `one_to_one` value that is not one character: the caller's
 * path then. */
static PyObject *fold_text(PyObject *self, PyObject *args) {
    PyObject *text, *fold_obj, *irregular_obj, *special, *one_to_one, *marked_obj = Py_None;
    if (!PyArg_ParseTuple(args, "UOOO!O!|O:fold_text", &text, &fold_obj, &irregular_obj, &PyDict_Type, &special,
                          &PyDict_Type, &one_to_one, &marked_obj)) {
        return NULL;
    }
    Py_buffer fold_view, irregular_view, marked_view = {0};
    if (get_table(fold_obj, &fold_view, 65536 * 4, "fold") < 0) {
        return NULL;
    }
    if (get_table(irregular_obj, &irregular_view, 8192, "irregular") < 0) {
        PyBuffer_Release(&fold_view);
        return NULL;
    }
    if (marked_obj != Py_None && get_table(marked_obj, &marked_view, 8192, "marked") < 0) {
        PyBuffer_Release(&fold_view);
        PyBuffer_Release(&irregular_view);
        return NULL;
    }
    const uint32_t *fold = (const uint32_t *)fold_view.buf;
    const unsigned char *irregular = (const unsigned char *)irregular_view.buf;
    const unsigned char *marked = marked_obj != Py_None ? (const unsigned char *)marked_view.buf : NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_UCS4 *same = NULL;  /* in place: allocated at the first character that changes */
    int with_offsets = 0;  /* from the first irregular character on, the folded text is built in `b` */
    FoldBuffer b = {NULL, NULL, 0, 0};
    PyObject *result = NULL;
    PyObject *rep = NULL; /* the current character's replacement, a new reference */
    int flags = 0;
    Py_UCS4 prev = 0;

    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        Py_UCS4 one = c; /* what a regular character folds to */
        if (c <= 0xFFFF) {
            if (bit_set(irregular, c)) {
                rep = astral_lookup(special, c, 0); /* a BMP key works the same way */
                if (rep == NULL) {
                    goto fallback_or_error;
                }
            } else if (fold[c] != 0) {
                one = fold[c];
            }
        } else {
            rep = astral_lookup(special, c, 0);
            if (rep == NULL) {
                if (PyErr_Occurred()) {
                    goto done;
                }
                PyObject *v = astral_lookup(one_to_one, c, 1);
                if (v == NULL) {
                    if (PyErr_Occurred()) {
                        goto done;
                    }
                } else {
                    int single = 0;
                    if (PyUnicode_Check(v)) {
                        if (check_str(v, "one_to_one value") < 0) {
                            Py_DECREF(v);
                            goto done;
                        }
                        single = PyUnicode_GET_LENGTH(v) == 1;
                    }
                    if (single) {
                        one = PyUnicode_READ_CHAR(v, 0);
                    }
                    Py_DECREF(v);
                    if (!single) {
                        goto fallback;
                    }
                }
            }
        }
        if (rep == NULL && !with_offsets) {
            if (one != c && same == NULL && (same = ucs4_copy(kind, data, n, i)) == NULL) {
                goto done;
            }
            if (same != NULL) {
                same[i] = one;
            }
            flags |= fold_flags(prev, one) | mark_flags(marked, one);
            prev = one;
            continue;
        }
        if (!with_offsets) { /* the first irregular character: what came before folded one for one */
            with_offsets = 1;
            for (Py_ssize_t k = 0; k < i; k++) {
                if (fold_push(&b, same != NULL ? same[k] : PyUnicode_READ(kind, data, k), k) < 0) {
                    goto done;
                }
            }
        }
        Py_ssize_t m = 1;
        if (rep != NULL) {
            if (check_str(rep, "special value") < 0) {
                goto done;
            }
            m = PyUnicode_GET_LENGTH(rep);
        }
        for (Py_ssize_t k = 0; k < m; k++) {
            Py_UCS4 f = rep != NULL ? PyUnicode_READ_CHAR(rep, k) : one;
            if (fold_push(&b, f, i) < 0) {
                goto done;
            }
            flags |= fold_flags(prev, f) | mark_flags(marked, f);
            prev = f;
        }
        Py_CLEAR(rep);
    }
    PyObject *folded, *offsets;
    if (!with_offsets) {
        folded = same == NULL ? Py_NewRef(text) : PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, same, n);
        if (folded == NULL) {
            goto done;
        }
        offsets = Py_NewRef(Py_None);
    } else {
        Py_UCS4 nothing = 0;
        folded = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, b.chars != NULL ? b.chars : &nothing, b.len);
        if (folded == NULL) {
            goto done;
        }
        offsets = PyList_New(b.len + 1);
        if (offsets == NULL) {
            Py_DECREF(folded);
            goto done;
        }
        for (Py_ssize_t k = 0; k <= b.len; k++) {
            PyObject *at = PyLong_FromSsize_t(k < b.len ? b.from[k] : n);
            if (at == NULL) {
                Py_DECREF(folded);
                Py_DECREF(offsets);
                goto done;
            }
            PyList_SET_ITEM(offsets, k, at);
        }
    }
    result = Py_BuildValue("(NNi)", folded, offsets, flags);
    goto done;
fallback_or_error:
    if (PyErr_Occurred()) {
        goto done;
    }
fallback:
    result = Py_NewRef(Py_None);
done:
    Py_XDECREF(rep);
    PyMem_Free(same);
    PyMem_Free(b.chars);
    PyMem_Free(b.from);
    PyBuffer_Release(&fold_view);
    PyBuffer_Release(&irregular_view);
    if (marked != NULL) {
        PyBuffer_Release(&marked_view);
    }
    return result;
}

/* One word of a group of hyphen-joined words, for fold_homoglyphs. */
typedef struct {
    Py_ssize_t start, end;
    unsigned char has_key, has_latin, folds_to_latin;
} HomoglyphWord;

/* fold_homoglyphs(text, table, astral) -> str
 *
 * guard.normalize's homoglyph rule in one pass: in each word (a maximal run of letters and digits other than
 * East Asian ones, as `re` finds guard.normalize._WORD) that holds a homoglyph (`table`: its ASCII letter per BMP
 * code point, 0 for none; `astral`: the ones above the BMP, one-character str -> one-character str), the
 * homoglyphs are replaced by their letters when the word also holds a Latin letter (alphabetic, below U+0250),
 * or when it has three characters or more and would fold entirely to Latin letters and digits. Words joined by
 * single hyphens form a group (guard.normalize._GROUP): a shorter word that would fold entirely folds too when
 * the group reads as Latin, that is when a word of it holds a Latin letter, or when all of its words would fold
 * entirely and have three characters or more in all (Porygon-Ζ, ΗΟ-ΟΗ). Returns the text itself when nothing
 * changes. */
static PyObject *fold_homoglyphs(PyObject *self, PyObject *args) {
    PyObject *text, *table_obj, *astral;
    if (!PyArg_ParseTuple(args, "UOO!:fold_homoglyphs", &text, &table_obj, &PyDict_Type, &astral)) {
        return NULL;
    }
    Py_buffer table_view;
    if (get_table(table_obj, &table_view, 65536 * 4, "table") < 0) {
        return NULL;
    }
    const uint32_t *table = (const uint32_t *)table_view.buf;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_UCS4 *out = NULL; /* allocated at the first word that folds */
    Py_UCS4 *letters = PyMem_New(Py_UCS4, n > 0 ? n : 1); /* each character's homoglyph letter, 0 for none */
    HomoglyphWord *words = NULL; /* the words of the current group */
    Py_ssize_t words_cap = 0;
    PyObject *result = NULL;
    if (letters == NULL) {
        PyBuffer_Release(&table_view);
        return PyErr_NoMemory();
    }
    Py_ssize_t i = 0;
    while (i < n) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (!is_word_char(c)) {
            i++;
            continue;
        }
        Py_ssize_t nwords = 0;
        int group_has_key = 0;
        for (;;) { /* the words of one group */
            if (nwords == words_cap) {
                Py_ssize_t cap = words_cap ? words_cap * 2 : 8;
                /* (not PyMem_Resize, a macro that assigns NULL to `words` on failure and loses the block) */
                HomoglyphWord *grown = (HomoglyphWord *)PyMem_Realloc(words, (size_t)cap * sizeof(HomoglyphWord));
                if (grown == NULL) {
                    PyErr_NoMemory();
                    goto done;
                }
                words = grown;
                words_cap = cap;
            }
            HomoglyphWord *w = &words[nwords++];
            w->start = i;
            int has_key = 0, has_latin = 0, folds_to_latin = 1;
            for (; i < n; i++) {
                c = PyUnicode_READ(kind, data, i);
                if (!is_word_char(c)) {
                    break;
                }
                Py_UCS4 letter = 0;
                if (c <= 0xFFFF) {
                    letter = table[c];
                } else {
                    PyObject *v = astral_lookup(astral, c, 0);
                    if (v == NULL && PyErr_Occurred()) {
                        goto done;
                    }
                    if (v != NULL) {
                        if (PyUnicode_Check(v)) {
                            if (check_str(v, "homoglyph value") < 0) {
                                Py_DECREF(v);
                                goto done;
                            }
                            if (PyUnicode_GET_LENGTH(v) == 1) {
                                letter = PyUnicode_READ_CHAR(v, 0);
                            }
                        }
                        Py_DECREF(v);
                    }
                }
                letters[i] = letter;
                int latin = c < 0x250 && Py_UNICODE_ISALPHA(c);
                has_latin |= latin;
                if (letter != 0) {
                    has_key = 1;
                    if (!((letter < 0x250 && Py_UNICODE_ISALPHA(letter)) || Py_UNICODE_ISDIGIT(letter))) {
                        folds_to_latin = 0;
                    }
                } else if (!latin && !Py_UNICODE_ISDIGIT(c)) {
                    folds_to_latin = 0;
                }
            }
            w->end = i;
            w->has_key = (unsigned char)has_key;
            w->has_latin = (unsigned char)has_latin;
            w->folds_to_latin = (unsigned char)folds_to_latin;
            group_has_key |= has_key;
            if (i + 1 < n && PyUnicode_READ(kind, data, i) == '-' && is_word_char(PyUnicode_READ(kind, data, i + 1))) {
                i++; /* over the hyphen, to the group's next word */
                continue;
            }
            break;
        }
        if (!group_has_key) {
            continue;
        }
        int group_latin = 0, all_fold = 1;
        Py_ssize_t total = 0;
        for (Py_ssize_t k = 0; k < nwords; k++) {
            group_latin |= words[k].has_latin;
            all_fold &= words[k].folds_to_latin;
            total += words[k].end - words[k].start;
        }
        group_latin = nwords > 1 && (group_latin || (all_fold && total >= 3));
        for (Py_ssize_t k = 0; k < nwords; k++) {
            const HomoglyphWord *w = &words[k];
            if (!w->has_key) {
                continue;
            }
            if (!(w->has_latin || (w->folds_to_latin && (w->end - w->start >= 3 || group_latin)))) {
                continue;
            }
            if (out == NULL && (out = ucs4_copy(kind, data, n, n)) == NULL) {
                goto done;
            }
            for (Py_ssize_t j = w->start; j < w->end; j++) {
                if (letters[j] != 0) {
                    out[j] = letters[j];
                }
            }
        }
    }
    result = out == NULL ? Py_NewRef(text) : PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, out, n);
done:
    PyMem_Free(out);
    PyMem_Free(letters);
    PyMem_Free(words);
    PyBuffer_Release(&table_view);
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

static inline int is_leet_token_char(Py_UCS4 c) { return is_ascii_lower(c) || is_leet(c) || c == '2'; }
static inline int is_ascii_lower_or_digit(Py_UCS4 c) { return is_ascii_lower(c) || (c >= '0' && c <= '9'); }

/* The next maximal run of characters that `in_run` accepts, at or after *at: its start, or -1 when there is
 * none. *at becomes the run's end. */
static inline Py_ssize_t next_run(int kind, const void *data, Py_ssize_t n, Py_ssize_t *at, int (*in_run)(Py_UCS4)) {
    Py_ssize_t i = *at;
    while (i < n && !in_run(PyUnicode_READ(kind, data, i))) i++;
    if (i == n) {
        *at = n;
        return -1;
    }
    Py_ssize_t start = i;
    while (i < n && in_run(PyUnicode_READ(kind, data, i))) i++;
    *at = i;
    return start;
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
    Py_ssize_t end = 0, start;
    while ((start = next_run(kind, data, n, &end, is_leet_token_char)) >= 0) {
        int letters = 0, leet = 0;
        for (Py_ssize_t i = start; i < end; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            letters += is_ascii_lower(c);
            leet |= c != '2' && is_leet(c); /* 2 is a token character, but no leet one */
        }
        if (leet && letters >= 2 && end - start >= 3) {
            PyObject *span = Py_BuildValue("(nn)", start, end);
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

/* ----------------------------------------------------------------------------------------------------------
 * KnownWords: the words the typo pass never looks up (everyday words, and vocabulary words with no typo
 * match), as a set of 64-bit hashes in one open-addressed array. A set or dict of str costs three dependent
 * memory reads per word (its index, its entry, the stored string), and each word is made a str first; here
 * one read, mostly one cache line, and no object. Only words that rare_latin_words can ask about are kept:
 * four or more ASCII letters a-z. Two different words share a hash with a chance of about 2^-64 per lookup;
 * a rare word would then be taken as known (no typo lookup for it), which is accepted.
 * ------------------------------------------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    uint64_t *slots; /* 0: empty */
    Py_ssize_t mask; /* slot count - 1; the slot count is a power of two */
    Py_ssize_t count;
    Py_buffer borrowed; /* .obj set: the slots are this buffer's (from_slots), not allocated here */
    Py_ssize_t exports; /* buffers of the slots handed out (pickling): the table cannot be replaced meanwhile */
} KnownWords;

static PyTypeObject KnownWordsType;
static int known_words_ready(const KnownWords *k);

#define WORD_HASH_SEED 0xcbf29ce484222325ULL

/* FNV-1a over the code points, then a finalizer (murmur3's fmix64) so that the low bits index well. */
static inline uint64_t word_hash_step(uint64_t h, Py_UCS4 c) { return (h ^ c) * 0x100000001b3ULL; }

static inline uint64_t word_hash_final(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h ? h : 1;
}

static uint64_t word_hash(int kind, const void *data, Py_ssize_t start, Py_ssize_t end) {
    uint64_t h = WORD_HASH_SEED;
    for (Py_ssize_t i = start; i < end; i++) h = word_hash_step(h, PyUnicode_READ(kind, data, i));
    return word_hash_final(h);
}

static int known_contains(const KnownWords *k, uint64_t h) {
    for (Py_ssize_t i = (Py_ssize_t)(h & (uint64_t)k->mask);; i = (i + 1) & k->mask) {
        uint64_t v = k->slots[i];
        if (v == h) return 1;
        if (v == 0) return 0;
    }
}

/* Adds hash h to slots[0..mask] (never full); 1 if it was not there yet. */
static int known_insert(uint64_t *slots, Py_ssize_t mask, uint64_t h) {
    for (Py_ssize_t i = (Py_ssize_t)(h & (uint64_t)mask);; i = (i + 1) & mask) {
        uint64_t v = slots[i];
        if (v == h) return 0;
        if (v == 0) {
            slots[i] = h;
            return 1;
        }
    }
}

/* Whether a (ready) str is a word the typo pass can look up, four or more characters all a-z; if so, its hash
 * goes to *h. */
static int lookup_word_hash(PyObject *s, uint64_t *h) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    if (n < 4 || !PyUnicode_IS_ASCII(s)) return 0;
    const Py_UCS1 *d = PyUnicode_1BYTE_DATA(s);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!is_ascii_lower(d[i])) return 0;
    }
    *h = word_hash(PyUnicode_1BYTE_KIND, d, 0, n);
    return 1;
}

/* Frees or gives back the table, leaving the object uninitialized. */
static void known_words_release(KnownWords *k) {
    if (k->borrowed.obj != NULL) {
        PyBuffer_Release(&k->borrowed);
    } else {
        PyMem_Free(k->slots);
    }
    k->slots = NULL;
    k->mask = 0;
    k->count = 0;
}

static void known_words_dealloc(KnownWords *k) {
    known_words_release(k);
    Py_TYPE(k)->tp_free((PyObject *)k);
}

/* KnownWords(*containers): the words of each container of str (sets, dicts: their keys, lists...). The new
 * table is built aside and installed whole at the end: reading a container can run Python code, which could
 * use or re-initialize this very object, and a failed call leaves the object as it was. */
static int known_words_init(KnownWords *k, PyObject *args, PyObject *kwds) {
    if (kwds != NULL && PyDict_GET_SIZE(kwds) > 0) {
        PyErr_SetString(PyExc_TypeError, "KnownWords takes no keyword arguments");
        return -1;
    }
    Py_ssize_t total = 0;
    for (Py_ssize_t a = 0; a < PyTuple_GET_SIZE(args); a++) {
        Py_ssize_t size = PyObject_Size(PyTuple_GET_ITEM(args, a));
        if (size < 0) return -1;
        if (size > PY_SSIZE_T_MAX / 32 - total) {
            PyErr_SetString(PyExc_OverflowError, "KnownWords: too many words");
            return -1;
        }
        total += size;
    }
    Py_ssize_t cap = 8, count = 0;
    while (cap < 2 * total) cap *= 2; /* at most half full: short probe runs */
    uint64_t *slots = PyMem_Calloc(cap, sizeof(uint64_t));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t a = 0; a < PyTuple_GET_SIZE(args); a++) {
        PyObject *it = PyObject_GetIter(PyTuple_GET_ITEM(args, a));
        if (it == NULL) goto fail;
        PyObject *item;
        while ((item = PyIter_Next(it)) != NULL) {
            if (!PyUnicode_Check(item)) {
                PyErr_Format(PyExc_TypeError, "KnownWords: a word is not a str but %.100s", Py_TYPE(item)->tp_name);
                Py_DECREF(item);
                Py_DECREF(it);
                goto fail;
            }
            if (count * 2 >= cap) { /* more words than the containers' sizes said */
                PyErr_SetString(PyExc_RuntimeError, "KnownWords: a container changed size while it was read");
                Py_DECREF(item);
                Py_DECREF(it);
                goto fail;
            }
            uint64_t h;
            if (PyUnicode_READY(item) == 0 && lookup_word_hash(item, &h)) count += known_insert(slots, cap - 1, h);
            Py_DECREF(item);
        }
        Py_DECREF(it);
        if (PyErr_Occurred()) goto fail;
    }
    if (k->exports > 0) {
        PyErr_SetString(PyExc_BufferError, "KnownWords: the table is exported and cannot be replaced");
        goto fail;
    }
    /* The new table is in place before the old one is given back: giving back a borrowed buffer can run the
     * exporter's Python code, which may look words up in this very object. */
    KnownWords old = *k;
    k->slots = slots;
    k->mask = cap - 1;
    k->count = count;
    k->borrowed.obj = NULL;
    known_words_release(&old);
    return 0;
fail:
    PyMem_Free(slots);
    return -1;
}

/* KnownWords.from_slots(buffer): a KnownWords over the hash table of another, as its buffer gives it (pickling:
 * the compiled cache maps it from the file, so loading it builds nothing). The buffer is kept, not copied, when
 * it is read-only and aligned for 64-bit reads. A table that is not a power of two of slots, or more than half full, is
 * refused: a lookup relies on an empty slot to stop. */
static PyObject *known_words_from_slots(PyTypeObject *type, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    Py_ssize_t cap = view.len / (Py_ssize_t)sizeof(uint64_t);
    if (view.len % (Py_ssize_t)sizeof(uint64_t) != 0 || cap < 8 || (cap & (cap - 1)) != 0) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "KnownWords.from_slots: not a table of a power of two 8-byte slots");
        return NULL;
    }
    uint64_t *slots = view.buf;
    /* Kept only if it is aligned and read-only: a table whose owner could write to it could be filled after the
     * check below, and a lookup would never end. */
    int aligned = ((uintptr_t)view.buf % sizeof(uint64_t)) == 0 && view.readonly;
    if (!aligned) {
        slots = PyMem_Malloc(view.len);
        if (slots == NULL) {
            PyBuffer_Release(&view);
            return PyErr_NoMemory();
        }
        memcpy(slots, view.buf, view.len);
    }
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < cap; i++) count += slots[i] != 0;
    if (count * 2 > cap) {
        if (!aligned) PyMem_Free(slots);
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "KnownWords.from_slots: the table is more than half full");
        return NULL;
    }
    KnownWords *k = (KnownWords *)type->tp_alloc(type, 0);
    if (k == NULL) {
        if (!aligned) PyMem_Free(slots);
        PyBuffer_Release(&view);
        return NULL;
    }
    if (aligned) {
        k->borrowed = view;
    } else {
        PyBuffer_Release(&view);
    }
    k->slots = slots;
    k->mask = cap - 1;
    k->count = count;
    return (PyObject *)k;
}

static int known_words_getbuffer(KnownWords *k, Py_buffer *view, int flags) {
    if (k->slots == NULL) {
        PyErr_SetString(PyExc_BufferError, "KnownWords: not initialized");
        view->obj = NULL;
        return -1;
    }
    if (PyBuffer_FillInfo(view, (PyObject *)k, k->slots, (k->mask + 1) * (Py_ssize_t)sizeof(uint64_t), 1, flags) < 0) return -1;
    k->exports++;
    return 0;
}

static void known_words_releasebuffer(KnownWords *k, Py_buffer *view) { k->exports--; }

static PyBufferProcs known_words_as_buffer = {
    .bf_getbuffer = (getbufferproc)known_words_getbuffer,
    .bf_releasebuffer = (releasebufferproc)known_words_releasebuffer,
};

/* Pickles as its table: KnownWords.from_slots of a PickleBuffer from protocol 5 on (out of band with a buffer
 * callback), of a bytes copy below it. */
static PyObject *known_words_reduce_ex(KnownWords *k, PyObject *protocol_obj) {
    long protocol = PyLong_AsLong(protocol_obj);
    if (protocol == -1 && PyErr_Occurred()) return NULL;
    if (known_words_ready(k) < 0) return NULL;
    PyObject *from_slots = PyObject_GetAttrString((PyObject *)Py_TYPE(k), "from_slots");
    if (from_slots == NULL) return NULL;
    PyObject *table = protocol >= 5 ? PyPickleBuffer_FromObject((PyObject *)k)
                                    : PyBytes_FromStringAndSize((const char *)k->slots, (k->mask + 1) * (Py_ssize_t)sizeof(uint64_t));
    if (table == NULL) {
        Py_DECREF(from_slots);
        return NULL;
    }
    return Py_BuildValue("(N(N))", from_slots, table);
}

/* A KnownWords never changes once built (a second __init__ aside), so a copy is the object itself. */
static PyObject *known_words_copy(PyObject *k, PyObject *Py_UNUSED(ignored)) { return Py_NewRef(k); }

static PyObject *known_words_deepcopy(PyObject *k, PyObject *Py_UNUSED(memo)) { return Py_NewRef(k); }

static PyMethodDef known_words_methods[] = {
    {"from_slots", (PyCFunction)known_words_from_slots, METH_O | METH_CLASS,
     "from_slots(buffer): a KnownWords over a table of slots, as pickling gives it."},
    {"__reduce_ex__", (PyCFunction)known_words_reduce_ex, METH_O, NULL},
    {"__copy__", (PyCFunction)known_words_copy, METH_NOARGS, NULL},
    {"__deepcopy__", (PyCFunction)known_words_deepcopy, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static int known_words_ready(const KnownWords *k) {
    if (k->slots == NULL) {
        PyErr_SetString(PyExc_ValueError, "KnownWords: not initialized");
        return -1;
    }
    return 0;
}

static int known_words_contains(KnownWords *k, PyObject *word) {
    if (known_words_ready(k) < 0) return -1;
    uint64_t h;
    if (!PyUnicode_Check(word) || PyUnicode_READY(word) < 0 || !lookup_word_hash(word, &h)) return 0;
    return known_contains(k, h);
}

static Py_ssize_t known_words_len(KnownWords *k) { return k->count; }

static PyObject *known_words_nbytes(KnownWords *k, void *closure) {
    return PyLong_FromSsize_t(k->slots == NULL ? 0 : (k->mask + 1) * (Py_ssize_t)sizeof(uint64_t));
}

static PySequenceMethods known_words_as_sequence = {
    .sq_length = (lenfunc)known_words_len,
    .sq_contains = (objobjproc)known_words_contains,
};

static PyGetSetDef known_words_getset[] = {
    {"nbytes", (getter)known_words_nbytes, NULL, "The size of the hash array in bytes.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject KnownWordsType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "guard._speedups.KnownWords",
    .tp_doc = "KnownWords(*containers): the lowercase a-z words of four letters or more of containers of str, "
              "for rare_latin_words.",
    .tp_basicsize = sizeof(KnownWords),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)known_words_init,
    .tp_dealloc = (destructor)known_words_dealloc,
    .tp_as_sequence = &known_words_as_sequence,
    .tp_as_buffer = &known_words_as_buffer,
    .tp_methods = known_words_methods,
    .tp_getset = known_words_getset,
};

/* rare_latin_words(text, *known) -> list[tuple[int, int, str]]: (start, end, word) of every maximal run of
 * ASCII a-z and 0-9 (as re's [a-z0-9]{4,} finds them) of four characters or more that holds letters only and
 * is in none of the `known` containers (KnownWords, sets or dicts), in text order. */
static PyObject *rare_latin_words(PyObject *self, PyObject *args) {
    Py_ssize_t nargs = PyTuple_GET_SIZE(args);
    if (nargs < 1 || !PyUnicode_Check(PyTuple_GET_ITEM(args, 0))) {
        PyErr_SetString(PyExc_TypeError, "rare_latin_words expects a str and then KnownWords, sets or dicts");
        return NULL;
    }
    for (Py_ssize_t k = 1; k < nargs; k++) {
        PyObject *known = PyTuple_GET_ITEM(args, k);
        if (Py_IS_TYPE(known, &KnownWordsType)) {
            if (known_words_ready((KnownWords *)known) < 0) return NULL;
        } else if (!PyAnySet_Check(known) && !PyDict_Check(known)) {
            PyErr_SetString(PyExc_TypeError, "rare_latin_words: known words must be KnownWords, sets or dicts");
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
    Py_ssize_t i = 0, start;
    while ((start = next_run(kind, data, n, &i, is_ascii_lower_or_digit)) >= 0) {
        if (i - start < 4) {
            continue;
        }
        int digits = 0;
        for (Py_ssize_t k = start; k < i && !digits; k++) digits = !is_ascii_lower(PyUnicode_READ(kind, data, k));
        if (digits) {
            continue;
        }
        PyObject *word = NULL; /* made only when a set or dict is asked, or the word is rare */
        uint64_t hash = 0;
        int is_known = 0;
        for (Py_ssize_t k = 1; k < nargs && !is_known; k++) {
            PyObject *known = PyTuple_GET_ITEM(args, k);
            if (Py_IS_TYPE(known, &KnownWordsType)) {
                if (hash == 0) hash = word_hash(kind, data, start, i);
                is_known = known_contains((KnownWords *)known, hash);
                continue;
            }
            if (word == NULL && (word = PyUnicode_Substring(text, start, i)) == NULL) goto fail;
            int r = PyAnySet_Check(known) ? PySet_Contains(known, word) : PyDict_Contains(known, word);
            if (r < 0) {
                Py_DECREF(word);
                goto fail;
            }
            is_known = r;
        }
        if (!is_known) {
            if (word == NULL && (word = PyUnicode_Substring(text, start, i)) == NULL) goto fail;
            PyObject *item = Py_BuildValue("(nnO)", start, i, word);
            if (item == NULL || PyList_Append(out, item) < 0) {
                Py_XDECREF(item);
                Py_DECREF(word);
                goto fail;
            }
            Py_DECREF(item);
        }
        Py_XDECREF(word);
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
/* A Hangul syllable: jamo left standing after normalization are emoticons (ㅋㅋ), which end a word. */
static inline int is_hangul(Py_UCS4 c) { return c >= 0xAC00 && c <= 0xD7A3; }

/* The words that may stand right next to a name where its script has no spaces (guard.matcher's
 * _HIRA_BEFORE_NOUN, _HIRA_AFTER_NOUN, _HIRA_NOUN_SUFFIXES, _HAN_BEFORE_NAME, _HAN_AFTER_NAME,
 * _HIRA_VERB_ENDINGS, _HIRA_VERB_END and _HIRA_AFTER_VERB), given once by set_boundary_words when guard.matcher
 * is imported. Until then the lists are empty, which only makes the boundary rules stricter. */
#define MAX_BOUNDARY_CHARS 64
#define MAX_BOUNDARY_WORDS 32 /* suffixes, or verb endings */
#define MAX_WORD_LENGTH 4

typedef struct {
    Py_UCS4 chars[MAX_BOUNDARY_CHARS];
    Py_ssize_t n;
} CharList;

typedef struct {
    Py_UCS4 words[MAX_BOUNDARY_WORDS][MAX_WORD_LENGTH + 1]; /* each ends with 0 */
    Py_ssize_t n;
} WordList;

typedef struct {
    CharList hira_before, hira_after, han_before, han_after, hira_verb_end, hira_after_verb;
    WordList suffixes, verb_endings;
} BoundaryWords;

static BoundaryWords boundary_words;

static int char_list_has(const CharList *list, Py_UCS4 c) {
    for (Py_ssize_t i = 0; i < list->n; i++)
        if (list->chars[i] == c) return 1;
    return 0;
}

static int char_list_from(PyObject *text, CharList *out) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n > MAX_BOUNDARY_CHARS) {
        PyErr_Format(PyExc_ValueError, "set_boundary_words: at most %d characters a list", MAX_BOUNDARY_CHARS);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) out->chars[i] = PyUnicode_READ_CHAR(text, i);
    out->n = n;
    return 0;
}

/* A sequence of str, each of 1 to MAX_WORD_LENGTH characters, into `out`; 0, or -1 with an exception. */
static int word_list_from(PyObject *words, WordList *out) {
    PyObject *seq = PySequence_Fast(words, "set_boundary_words: the suffixes and endings must be sequences of str");
    if (seq == NULL) return -1;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    if (count > MAX_BOUNDARY_WORDS) {
        Py_DECREF(seq);
        PyErr_Format(PyExc_ValueError, "set_boundary_words: at most %d suffixes or endings", MAX_BOUNDARY_WORDS);
        return -1;
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *word = PySequence_Fast_GET_ITEM(seq, k);
        Py_ssize_t n = PyUnicode_Check(word) ? PyUnicode_GET_LENGTH(word) : -1;
        if (n < 1 || n > MAX_WORD_LENGTH) {
            Py_DECREF(seq);
            PyErr_Format(PyExc_ValueError, "set_boundary_words: each suffix or ending must be a str of 1 to %d characters",
                         MAX_WORD_LENGTH);
            return -1;
        }
        for (Py_ssize_t i = 0; i < n; i++) out->words[k][i] = PyUnicode_READ_CHAR(word, i);
    }
    Py_DECREF(seq);
    out->n = count;
    return 0;
}

/* set_boundary_words(hira_before, hira_after, hira_suffixes, han_before, han_after, verb_endings, hira_verb_end,
 * hira_after_verb): the character lists as str, the suffixes and the verb endings as sequences of str. A call
 * that fails changes nothing. */
static PyObject *set_boundary_words(PyObject *self, PyObject *args) {
    PyObject *hira_before, *hira_after, *suffixes, *han_before, *han_after, *endings, *verb_end, *after_verb;
    if (!PyArg_ParseTuple(args, "UUOUUOUU:set_boundary_words", &hira_before, &hira_after, &suffixes, &han_before,
                          &han_after, &endings, &verb_end, &after_verb))
        return NULL;
    BoundaryWords words;
    memset(&words, 0, sizeof(words));
    if (char_list_from(hira_before, &words.hira_before) < 0 || char_list_from(hira_after, &words.hira_after) < 0 ||
        char_list_from(han_before, &words.han_before) < 0 || char_list_from(han_after, &words.han_after) < 0 ||
        char_list_from(verb_end, &words.hira_verb_end) < 0 || char_list_from(after_verb, &words.hira_after_verb) < 0 ||
        word_list_from(suffixes, &words.suffixes) < 0 || word_list_from(endings, &words.verb_endings) < 0)
        return NULL;
    boundary_words = words;
    Py_RETURN_NONE;
}

/* Whether text[e:] starts with one of the hiragana suffixes. */
static int hira_suffix_at(int kind, const void *data, Py_ssize_t n, Py_ssize_t e) {
    const WordList *list = &boundary_words.suffixes;
    for (Py_ssize_t k = 0; k < list->n; k++) {
        const Py_UCS4 *suffix = list->words[k];
        Py_ssize_t i = 0;
        while (suffix[i] && e + i < n && PyUnicode_READ(kind, data, e + i) == suffix[i]) i++;
        if (!suffix[i]) return 1;
    }
    return 0;
}

/* Whether text[:s] ends with one of the verb endings (the first that matches), with a kanji or katakana within
 * the two characters before it. */
static int verb_ending_before(int kind, const void *data, Py_ssize_t s) {
    const WordList *list = &boundary_words.verb_endings;
    for (Py_ssize_t k = 0; k < list->n; k++) {
        const Py_UCS4 *ending = list->words[k];
        Py_ssize_t len = 0;
        while (ending[len]) len++;
        if (len > s) continue;
        Py_ssize_t i = 0;
        while (i < len && PyUnicode_READ(kind, data, s - len + i) == ending[i]) i++;
        if (i < len) continue;
        for (Py_ssize_t j = s - len - 2 < 0 ? 0 : s - len - 2; j < s - len; j++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, j);
            if (is_han(c) || is_kata(c)) return 1;
        }
        return 0;
    }
    return 0;
}

/* guard.matcher._hira_noun_start: after a hiragana, whether a short hiragana name at text[s] can start a word. */
static int hira_noun_start(int kind, const void *data, Py_ssize_t s) {
    if (s < 2) return 0;
    Py_UCS4 before = PyUnicode_READ(kind, data, s - 1), first = PyUnicode_READ(kind, data, s);
    if (!char_list_has(&boundary_words.hira_before, before)) return 0;
    if (char_list_has(&boundary_words.hira_after, first) &&
        !(char_list_has(&boundary_words.hira_verb_end, before) && char_list_has(&boundary_words.hira_after_verb, first)))
        return 0;
    Py_UCS4 stem = PyUnicode_READ(kind, data, s - 2);
    return is_han(stem) || is_kata(stem) || verb_ending_before(kind, data, s);
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
        if (length <= 3 && has_before &&
            (is_kata(before) || is_han(before) || (is_hira(before) && !hira_noun_start(kind, data, s))))
            return 0;
        break;
    case EDGE_HANGUL:
        if (has_before && is_hangul(before)) return 0;
        break;
    case EDGE_HAN:
        if (length == 1 && info->strict &&
            ((has_before && is_han(before) && !char_list_has(&boundary_words.han_before, before)) ||
             (has_after && is_han(after) && !char_list_has(&boundary_words.han_after, after))))
            return 0;
        break;
    }
    switch (info->right) {
    case EDGE_LATIN:
        if (has_after && is_latin_or_digit(after)) return 0;
        break;
    case EDGE_HIRA:
        if (length <= 3 && has_after && is_hira(after) && !char_list_has(&boundary_words.hira_after, after) &&
            !hira_suffix_at(kind, data, n, e))
            return 0;
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

/* The info code of pattern `pid`: a machine integer of `code_size` bytes (read unaligned). */
static inline uint64_t read_code(const unsigned char *codes, int code_size, Py_ssize_t pid) {
    switch (code_size) {
    case 1: return codes[pid];
    case 2: { uint16_t v; memcpy(&v, codes + 2 * pid, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, codes + 4 * pid, 4); return v; }
    default: { uint64_t v; memcpy(&v, codes + 8 * pid, 8); return v; }
    }
}

/* A hit: pattern `pid` at text[start:end]. */
typedef struct {
    int32_t pid;
    Py_ssize_t start, end;
} AcHit;

/* The rules of accept_hits, read from its arguments: which hits stand on word boundaries. */
typedef struct {
    Py_buffer codes, edges, flags;
    int code_size, held;
    PyObject *particles;
} AcceptRules;

static int rules_get(AcceptRules *r, PyObject *codes, int code_size, PyObject *edges, PyObject *flags,
                     PyObject *particles) {
    r->held = 0;
    if (code_size != 1 && code_size != 2 && code_size != 4 && code_size != 8) {
        PyErr_SetString(PyExc_ValueError, "code_size must be 1, 2, 4 or 8");
        return -1;
    }
    if (PyObject_GetBuffer(codes, &r->codes, PyBUF_SIMPLE) < 0) return -1;
    if (PyObject_GetBuffer(edges, &r->edges, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&r->codes);
        return -1;
    }
    if (PyObject_GetBuffer(flags, &r->flags, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&r->codes);
        PyBuffer_Release(&r->edges);
        return -1;
    }
    r->code_size = code_size;
    r->particles = particles;
    r->held = 1;
    return 0;
}

static void rules_release(AcceptRules *r) {
    if (!r->held) return;
    PyBuffer_Release(&r->codes);
    PyBuffer_Release(&r->edges);
    PyBuffer_Release(&r->flags);
    r->held = 0;
}

/* 1 when accept_hits keeps the hit (its pattern has a flag and it stands on word boundaries), 0 when not,
 * -1 on error. */
static int rules_accept(const AcceptRules *r, PyObject *text, int kind, const void *data, Py_ssize_t n,
                        const AcHit *h) {
    if (h->pid >= r->codes.len / r->code_size || h->pid >= r->flags.len) {
        PyErr_SetString(PyExc_IndexError, "a pattern has no info code or flag");
        return -1;
    }
    if (((const unsigned char *)r->flags.buf)[h->pid] == 0) return 0;
    uint64_t code = read_code(r->codes.buf, r->code_size, h->pid);
    if (code >= (uint64_t)(r->edges.len / (Py_ssize_t)sizeof(EdgeInfo))) {
        PyErr_SetString(PyExc_IndexError, "an info code is out of range");
        return -1;
    }
    return boundary_ok(text, kind, data, n, h->start, h->end, &((const EdgeInfo *)r->edges.buf)[code], r->particles);
}

/* accept_hits(text, hits, codes, code_size, edges, flags, particles) -> list
 *
 * The (pattern, start, end) hits of `hits` that stand on word boundaries (guard.matcher.boundary_ok) and whose
 * pattern has a flag set, in the order given. `codes`: the info code of each pattern (machine integers of
 * `code_size` bytes); `edges`: an EdgeInfo (8 bytes) per info code; `flags`: a byte per pattern;
 * `particles`: the Korean particle suffixes (a set). */
static PyObject *accept_hits(PyObject *self, PyObject *args) {
    PyObject *text, *hits, *codes, *edges, *flags, *particles;
    int code_size;
    AcceptRules rules;
    if (!PyArg_ParseTuple(args, "UO!OiOOO!:accept_hits", &text, &PyList_Type, &hits, &codes, &code_size, &edges,
                          &flags, &PyFrozenSet_Type, &particles) ||
        rules_get(&rules, codes, code_size, edges, flags, particles) < 0) {
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t npatterns = rules.codes.len / code_size < rules.flags.len ? rules.codes.len / code_size : rules.flags.len;
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
        Py_ssize_t pid = PyLong_AsSsize_t(PyTuple_GET_ITEM(hit, 0));
        Py_ssize_t start = PyLong_AsSsize_t(PyTuple_GET_ITEM(hit, 1));
        Py_ssize_t end = PyLong_AsSsize_t(PyTuple_GET_ITEM(hit, 2));
        int ok = -1;
        if (PyErr_Occurred()) {
        } else if (pid < 0 || pid >= npatterns || pid > INT32_MAX || start < 0 || end > n || start > end) {
            PyErr_SetString(PyExc_IndexError, "accept_hits: a hit is out of range");
        } else {
            AcHit h = {(int32_t)pid, start, end};
            ok = rules_accept(&rules, text, kind, data, n, &h);
        }
        if (ok > 0 && PyList_Append(out, hit) < 0) ok = -1;
        Py_DECREF(hit);
        if (ok < 0) goto fail;
    }
    goto done;
fail:
    Py_CLEAR(out);
done:
    rules_release(&rules);
    return out;
}

/* ------------------------------------------------------------------------------------------------------
 * Automaton: an Aho-Corasick automaton over code points, for the exact pass (guard.exact.AutomatonIndex)
 * and the theme terms (guard.policy.themes).
 *
 * It reads the prompt's own code units (no UTF-8 copy, no byte-to-character offsets), and `find_accepted`
 * applies accept_hits' rules while it searches, so the hits inside words never become Python objects.
 * Layout, chosen so that a step touches few cache lines: nodes are numbered breadth first, so the nodes near
 * the root, where ordinary text spends most of its steps (it rarely goes on with a name for long), lie together
 * at the start of the arrays instead of being spread over all of them, and a node's children are consecutive
 * nodes, sorted by code point. A node holds its failure link, `report` (the nearest node from itself down the
 * failure chain that ends a pattern; -1: none) and the range of its children; `label[v]` is the code point
 * that leads to node v, so a node's children are looked up in one run of `label`. The root's children are
 * also in `root_ascii` (ASCII) and in the small hash table `root_hash`, because a prompt in Chinese or
 * Japanese asks the root for most of its characters, and a binary search over its thousands of children
 * would touch several cache lines each time. The patterns ending at node v are
 * out_pids[outs[v].begin .. outs[v].end).
 * Hits come out as ahocorasick-rs (MatchKind.Standard, overlapping) reports them: by end, longest first.
 * ------------------------------------------------------------------------------------------------------ */

#define NO_CHILD 0xFFFFFFFFu

typedef struct {
    int32_t fail, report;
    int32_t children, nchildren; /* the children are nodes children .. children + nchildren */
} AcNode;

typedef struct {
    uint32_t ch;
    int32_t to;
} AcEdge;

typedef struct {
    int32_t begin, end; /* out_pids[begin..end): the patterns that end here */
    int32_t depth;      /* the node's depth: the length of the patterns that end here */
} AcOut;

#define DENSE_LEVELS 6
#define DENSE_MAX_CELLS (1 << 20) /* 4 MiB of rows at most; a level that would pass it is left out, and those below it */
#define NO_CLASS 0xFF

typedef struct {
    int32_t lo, hi; /* nodes lo .. hi - 1 */
    int32_t *rows;  /* rows[(v - lo) * ncols + ascii_class[c]] */
} DenseLevel;

typedef struct {
    PyObject_HEAD
    Py_ssize_t npatterns, nnodes;
    AcNode *nodes;
    uint32_t *label; /* label[v]: the code point that leads to node v */
    AcEdge *root_hash; /* open addressing by root_slot(); ch NO_CHILD: empty */
    uint32_t root_mask;
    AcOut *outs;
    int32_t *out_pids;
    int32_t root_ascii[128];
    int32_t root_step[128]; /* ac_step's flagged answers from the root for ASCII (see ST_KNOWN) */
    /* ascii_class[c]: the column of ASCII c in the dense rows, or NO_CLASS when no pattern has c (every state
     * then goes to the root). The columns are the ASCII characters of the patterns: 64 for the bundled
     * lexicons, lower case letters, digits, space and punctuation (folding leaves no capitals). */
    unsigned char ascii_class[128];
    int32_t ncols;
    /* Rows of the whole transition function for ASCII, for the nodes that Latin text visits most: the root's
     * children by an ASCII character (nodes 1 .. k, as children are sorted by code point), their children,
     * and so on down to DENSE_LEVELS, as far as DENSE_MAX_CELLS allows. Row r of a level holds, for each
     * column, the state after its character from node lo + r, failure links followed: one read, where a step
     * would search the node's children (often dozens), then fail to a shallower node and search again. With
     * the bundled lexicons the rows reach the fifth level, where a Latin prompt's walk takes about 95% of its
     * steps (79% in the first three). Nodes are numbered breadth first, so each level is one block of numbers
     * (not adjacent to the next: the root's other children and their children lie between). */
    DenseLevel levels[DENSE_LEVELS];
    int32_t dense_end; /* past the last node with a row (at least 1, for the root's root_ascii) */
} Automaton;

typedef struct {
    int kind;
    const void *data;
    Py_ssize_t len;
    int32_t pid;
} PatternRef;

static int compare_patterns(const void *pa, const void *pb) {
    const PatternRef *a = pa, *b = pb;
    Py_ssize_t n = a->len < b->len ? a->len : b->len;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 x = PyUnicode_READ(a->kind, a->data, i), y = PyUnicode_READ(b->kind, b->data, i);
        if (x != y) return x < y ? -1 : 1;
    }
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    return a->pid < b->pid ? -1 : (a->pid > b->pid);
}

static inline uint32_t root_slot(uint32_t c, uint32_t mask) { return (c * 0x9E3779B1u >> 7) & mask; }

static inline int32_t ac_child(const Automaton *a, int32_t node, Py_UCS4 c) {
    if (node == 0) {
        if (c < 128) return a->root_ascii[c];
        for (uint32_t i = root_slot(c, a->root_mask);; i = (i + 1) & a->root_mask) {
            if (a->root_hash[i].ch == c) return a->root_hash[i].to;
            if (a->root_hash[i].ch == NO_CHILD) return -1;
        }
    }
    const AcNode *v = &a->nodes[node];
    const uint32_t *label = a->label;
    int32_t lo = v->children, hi = lo + v->nchildren;
    while (hi - lo > 8) { /* the answer, if any, stays in [lo, hi) */
        int32_t mid = lo + (hi - lo) / 2;
        if (label[mid] < c) lo = mid + 1;
        else hi = mid + 1;
    }
    for (int32_t k = lo; k < hi; k++) {
        if (label[k] >= c) return label[k] == c ? k : -1;
    }
    return -1;
}

/* The state after code point c in state `node`, through the children and failure links. */
static inline int32_t ac_step_linked(const Automaton *a, int32_t node, Py_UCS4 c) {
    for (;;) {
        int32_t next = ac_child(a, node, c);
        if (next >= 0) return next;
        if (node == 0) return 0;
        node = a->nodes[node].fail;
    }
}

/* ac_step's answers from the root's ASCII table and the dense rows carry two flags: ST_KNOWN, and ST_REPORTS
 * when a pattern ends in the state. The walk then reads the state's node for its report only when one is
 * there: a dense row is one cache line a step where the node would be a second, in memory the server's other
 * work has evicted between two requests. Answers without ST_KNOWN are plain node numbers (< 2^29, as
 * automaton_init bounds the node count). */
#define ST_KNOWN 0x40000000
#define ST_REPORTS 0x20000000
#define ST_MASK 0x1FFFFFFF

/* Whether a pattern may end in the state of ac_step's answer `s`: it says so, or it is a plain node number. */
static inline int may_report(int32_t s) { return (s & (ST_KNOWN | ST_REPORTS)) != ST_KNOWN; }

static inline int32_t ac_step(const Automaton *a, int32_t node, Py_UCS4 c) {
    if (c < 128) {
        unsigned cls = a->ascii_class[c];
        if (cls == NO_CLASS) return ST_KNOWN; /* the root, which reports nothing */
        if (node < a->dense_end) {
            if (node == 0) return a->root_step[c];
            for (int k = 0; k < DENSE_LEVELS; k++) { /* a level left out starts at INT32_MAX */
                const DenseLevel *level = &a->levels[k];
                if (node < level->lo) break;
                if (node < level->hi) return level->rows[(size_t)(node - level->lo) * a->ncols + cls];
            }
        }
    }
    return ac_step_linked(a, node, c);
}

static void automaton_free_arrays(Automaton *a) {
    PyMem_Free(a->nodes);
    PyMem_Free(a->label);
    PyMem_Free(a->root_hash);
    PyMem_Free(a->outs);
    PyMem_Free(a->out_pids);
    a->ncols = 0;
    memset(a->ascii_class, NO_CLASS, sizeof a->ascii_class);
    for (int k = 0; k < DENSE_LEVELS; k++) {
        PyMem_Free(a->levels[k].rows);
        a->levels[k] = (DenseLevel){INT32_MAX, INT32_MAX, NULL};
    }
    a->dense_end = 1;
    a->nodes = NULL;
    a->label = NULL;
    a->root_hash = NULL;
    a->root_mask = 0;
    a->outs = NULL;
    a->out_pids = NULL;
    a->npatterns = a->nnodes = 0;
}

static void automaton_dealloc(Automaton *a) {
    automaton_free_arrays(a);
    Py_TYPE(a)->tp_free((PyObject *)a);
}

/* The trie of the sorted patterns. Each pattern shares the path of its common prefix with the one before
 * it, so every node's children are created in increasing code-point order. Returns the node count, or -1. */
static int32_t build_trie(Automaton *a, const PatternRef *refs, Py_ssize_t np, Py_ssize_t total, int32_t *parent,
                          uint32_t *chars) {
    int32_t *path = PyMem_Malloc(total * sizeof(int32_t));
    if (path == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    int32_t nnodes = 1;
    parent[0] = -1;
    chars[0] = 0;
    path[0] = 0;
    for (Py_ssize_t v = 0; v < total; v++) a->outs[v] = (AcOut){0, 0, 0};
    for (Py_ssize_t k = 0; k < np; k++) {
        const PatternRef *r = &refs[k];
        Py_ssize_t common = 0;
        if (k > 0) { /* path[1..] holds the previous pattern's nodes */
            const PatternRef *q = &refs[k - 1];
            Py_ssize_t lim = r->len < q->len ? r->len : q->len;
            while (common < lim && PyUnicode_READ(r->kind, r->data, common) == PyUnicode_READ(q->kind, q->data, common)) {
                common++;
            }
        }
        for (Py_ssize_t j = common; j < r->len; j++) {
            int32_t node = nnodes++;
            parent[node] = path[j];
            chars[node] = PyUnicode_READ(r->kind, r->data, j);
            a->outs[node].depth = (int32_t)(j + 1);
            path[j + 1] = node;
        }
        AcOut *o = &a->outs[path[r->len]];
        if (o->end == 0) o->begin = (int32_t)k; /* equal patterns are consecutive */
        o->end = (int32_t)k + 1;
        a->out_pids[k] = r->pid;
    }
    PyMem_Free(path);
    return nnodes;
}

/* The failure link and report of node v, child of u by code point c (u's own are set). */
static void link_child(Automaton *a, int32_t u, int32_t v, uint32_t c) {
    AcNode *nodes = a->nodes;
    int32_t target = 0;
    if (u != 0) {
        int32_t f = nodes[u].fail;
        for (;;) {
            target = ac_child(a, f, c);
            if (target >= 0 || f == 0) break;
            f = nodes[f].fail;
        }
        if (target < 0) target = 0;
    }
    nodes[v].fail = target;
    nodes[v].report = a->outs[v].end > 0 ? v : nodes[target].report;
}

static void root_put(Automaton *a, AcEdge e) {
    uint32_t i = root_slot(e.ch, a->root_mask);
    while (a->root_hash[i].ch != NO_CHILD) i = (i + 1) & a->root_mask;
    a->root_hash[i] = e;
}

static int dense_levels(Automaton *a, int32_t nnodes);

/* Renumbers the trie of build_trie (depth first: parent[v], chars[v] and a->outs[v] by its node numbers) breadth
 * first into a->nodes, a->label and a->outs, with each node's children consecutive and in code-point order; then
 * the root's tables, and the failure links and reports in that order (a node's failure target is shallower, so
 * it is done before). 0, or -1 on error. */
static int link_trie(Automaton *a, int32_t nnodes, const int32_t *parent, const uint32_t *chars) {
    int32_t *ends = PyMem_Calloc(nnodes + 1, sizeof(int32_t)); /* after the fill: old u's children end at ends[u] */
    int32_t *kids = PyMem_Malloc(nnodes * sizeof(int32_t));     /* old numbers of the children, by parent */
    int32_t *old_of = PyMem_Malloc(nnodes * sizeof(int32_t));   /* the old number of each new one */
    AcOut *outs = PyMem_Malloc(nnodes * sizeof(AcOut));
    a->nodes = PyMem_Malloc(nnodes * sizeof(AcNode));
    a->label = PyMem_Malloc(nnodes * sizeof(uint32_t));
    if (!ends || !kids || !old_of || !outs || !a->nodes || !a->label) {
        PyMem_Free(ends);
        PyMem_Free(kids);
        PyMem_Free(old_of);
        PyMem_Free(outs);
        PyErr_NoMemory();
        return -1;
    }
    /* Children grouped by parent; build_trie numbered each node's children in code-point order. */
    for (int32_t v = 1; v < nnodes; v++) ends[parent[v] + 1]++;
    for (int32_t u = 0; u < nnodes; u++) ends[u + 1] += ends[u];
    for (int32_t v = 1; v < nnodes; v++) kids[ends[parent[v]]++] = v;
    /* Breadth first: each node, in its new order, numbers its children next. */
    AcNode *nodes = a->nodes;
    old_of[0] = 0;
    a->label[0] = 0;
    int32_t next = 1;
    for (int32_t n = 0; n < nnodes; n++) {
        int32_t u = old_of[n];
        int32_t first = u == 0 ? 0 : ends[u - 1], last = ends[u];
        nodes[n] = (AcNode){0, -1, next, last - first};
        for (int32_t k = first; k < last; k++) {
            old_of[next] = kids[k];
            a->label[next] = chars[kids[k]];
            next++;
        }
        outs[n] = a->outs[u];
    }
    PyMem_Free(a->outs);
    a->outs = outs;
    PyMem_Free(ends);
    PyMem_Free(kids);
    PyMem_Free(old_of);

    int32_t children = nnodes > 0 ? nodes[0].nchildren : 0; /* the root's: nodes 1 .. children */
    for (int c = 0; c < 128; c++) a->root_ascii[c] = -1;
    for (int32_t v = 1; v <= children; v++) {
        if (a->label[v] < 128) a->root_ascii[a->label[v]] = v;
    }
    uint32_t slots = 8;
    while (slots < 2 * (uint32_t)children) slots *= 2; /* at most half full */
    a->root_hash = PyMem_Malloc(slots * sizeof(AcEdge));
    if (a->root_hash == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    a->root_mask = slots - 1;
    for (uint32_t i = 0; i < slots; i++) a->root_hash[i] = (AcEdge){NO_CHILD, -1};
    for (int32_t v = 1; v <= children; v++) root_put(a, (AcEdge){a->label[v], v});
    for (int32_t u = 0; u < nnodes; u++) {
        for (int32_t v = nodes[u].children; v < nodes[u].children + nodes[u].nchildren; v++) {
            link_child(a, u, v, a->label[v]);
        }
    }
    return dense_levels(a, nnodes);
}

static int32_t flagged_state(const Automaton *a, int32_t v) {
    return v | ST_KNOWN | (a->nodes[v].report > 0 ? ST_REPORTS : 0);
}

/* The dense rows (see Automaton.levels), once the failure links are set. 0, or -1 on error. */
static int dense_levels(Automaton *a, int32_t nnodes) {
    const AcNode *nodes = a->nodes;
    for (int c = 0; c < 128; c++) a->root_step[c] = flagged_state(a, a->root_ascii[c] >= 0 ? a->root_ascii[c] : 0);
    unsigned char seen[128] = {0};
    for (int32_t v = 1; v < nnodes; v++) {
        if (a->label[v] < 128) seen[a->label[v]] = 1;
    }
    unsigned char classes[128];
    int32_t ncols = 0;
    for (int c = 0; c < 128; c++) classes[c] = seen[c] ? (unsigned char)ncols++ : NO_CLASS;
    int32_t lo = 1, hi = 1;
    size_t cells = 0;
    while (hi <= nodes[0].nchildren && a->label[hi] < 128) hi++;
    DenseLevel levels[DENSE_LEVELS];
    int n = 0;
    while (n < DENSE_LEVELS && hi > lo && cells + (size_t)(hi - lo) * ncols <= DENSE_MAX_CELLS) {
        int32_t *r = PyMem_Malloc((size_t)(hi - lo) * ncols * sizeof(int32_t));
        if (r == NULL) {
            for (int k = 0; k < n; k++) PyMem_Free(levels[k].rows);
            PyErr_NoMemory();
            return -1;
        }
        for (int32_t v = lo; v < hi; v++) {
            /* The failure target's row (a shallower node: a level built before, or the root), then v's own
             * children over it; a target without a row is stepped from. */
            int32_t *row = r + (size_t)(v - lo) * ncols;
            int32_t f = nodes[v].fail;
            const int32_t *from = NULL;
            for (int k = 0; k < n && f != 0; k++) {
                if (f >= levels[k].lo && f < levels[k].hi) from = levels[k].rows + (size_t)(f - levels[k].lo) * ncols;
            }
            for (uint32_t c = 0; c < 128; c++) {
                if (classes[c] == NO_CLASS) continue;
                row[classes[c]] = f == 0 ? a->root_step[c] : from != NULL ? from[classes[c]] : flagged_state(a, ac_step_linked(a, f, c));
            }
            for (int32_t k = nodes[v].children; k < nodes[v].children + nodes[v].nchildren; k++) {
                if (a->label[k] < 128) row[classes[a->label[k]]] = flagged_state(a, k);
            }
        }
        levels[n++] = (DenseLevel){lo, hi, r};
        cells += (size_t)(hi - lo) * ncols;
        int32_t next_lo = nodes[lo].children, next_hi = nodes[hi - 1].children + nodes[hi - 1].nchildren;
        lo = next_lo;
        hi = next_hi;
    }
    /* Published only once every row is built: on running out of memory the rows built so far are freed here,
     * and automaton_free_arrays must not free them again. */
    for (int k = 0; k < n; k++) a->levels[k] = levels[k];
    memcpy(a->ascii_class, classes, sizeof classes);
    a->ncols = ncols;
    a->dense_end = n > 0 ? levels[n - 1].hi : 1;
    return 0;
}

/* Automaton(patterns: list[str]); every pattern must be a non-empty str. */
static int automaton_init(Automaton *a, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"patterns", NULL};
    PyObject *patterns;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!:Automaton", kwlist, &PyList_Type, &patterns)) return -1;
    automaton_free_arrays(a);
    /* A copy of the list holds every string while its code points are read. */
    PyObject *held = PyList_GetSlice(patterns, 0, PyList_GET_SIZE(patterns));
    if (held == NULL) return -1;
    Py_ssize_t np = PyList_GET_SIZE(held);
    PatternRef *refs = PyMem_Calloc(np ? np : 1, sizeof(PatternRef));
    int32_t *parent = NULL;
    uint32_t *chars = NULL;
    int ok = -1;
    if (refs == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t total = 1; /* nodes at most: the root and one per pattern character */
    for (Py_ssize_t i = 0; i < np; i++) {
        PyObject *p = PyList_GET_ITEM(held, i);
        if (!PyUnicode_Check(p)) {
            PyErr_Format(PyExc_TypeError, "Automaton: pattern %zd is not a str", i);
            goto done;
        }
        if (PyUnicode_READY(p) < 0) goto done;
        Py_ssize_t len = PyUnicode_GET_LENGTH(p);
        if (len == 0) {
            PyErr_Format(PyExc_ValueError, "Automaton: pattern %zd is empty", i);
            goto done;
        }
        if (len >= INT32_MAX / 4 - total) {
            PyErr_SetString(PyExc_OverflowError, "Automaton: the patterns are too long");
            goto done;
        }
        total += len;
        refs[i] = (PatternRef){PyUnicode_KIND(p), PyUnicode_DATA(p), len, (int32_t)i};
    }
    qsort(refs, np, sizeof(PatternRef), compare_patterns);
    parent = PyMem_Malloc(total * sizeof(int32_t));
    chars = PyMem_Malloc(total * sizeof(uint32_t));
    a->outs = PyMem_Malloc(total * sizeof(AcOut));
    a->out_pids = PyMem_Malloc((np ? np : 1) * sizeof(int32_t));
    if (!parent || !chars || !a->outs || !a->out_pids) {
        PyErr_NoMemory();
        goto done;
    }
    int32_t nnodes = build_trie(a, refs, np, total, parent, chars);
    if (nnodes < 0) goto done;
    if (link_trie(a, nnodes, parent, chars) < 0) goto done;
    a->npatterns = np;
    a->nnodes = nnodes;
    ok = 0;
done:
    if (ok < 0) automaton_free_arrays(a);
    PyMem_Free(refs);
    PyMem_Free(parent);
    PyMem_Free(chars);
    Py_DECREF(held);
    return ok;
}

/* A growable array of hits that starts on the stack. */
typedef struct {
    AcHit *items;
    Py_ssize_t len, cap;
    AcHit local[64];
} HitBuffer;

static void hits_init(HitBuffer *b) {
    b->items = b->local;
    b->len = 0;
    b->cap = 64;
}

static void hits_free(HitBuffer *b) {
    if (b->items != b->local) PyMem_Free(b->items);
}

static int hits_grow(HitBuffer *b) {
    if (b->cap > PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(AcHit) / 2) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t cap = b->cap * 2;
    AcHit *items = PyMem_Malloc(cap * sizeof(AcHit));
    if (items == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(items, b->items, b->len * sizeof(AcHit));
    hits_free(b);
    b->items = items;
    b->cap = cap;
    return 0;
}

static inline int hits_push(HitBuffer *b, int32_t pid, Py_ssize_t start, Py_ssize_t end) {
    if (b->len == b->cap && hits_grow(b) < 0) return -1;
    b->items[b->len++] = (AcHit){pid, start, end};
    return 0;
}

/* Runs BODY for each pattern that ends in `state`, longest first, with PID and DEPTH (its length) set. */
#define FOR_EACH_OUTPUT(a, state, PID, DEPTH, BODY)                                                       \
    for (int32_t x_ = (a)->nodes[state].report; x_ > 0; x_ = (a)->nodes[(a)->nodes[x_].fail].report) {  \
        const AcOut *o_ = &(a)->outs[x_];                                                                \
        for (int32_t k_ = o_->begin; k_ < o_->end; k_++) {                                               \
            int32_t PID = (a)->out_pids[k_];                                                              \
            Py_ssize_t DEPTH = o_->depth;                                                                 \
            BODY                                                                                          \
        }                                                                                                 \
    }

/* Walks data[0..n), code units of TYPE, through the automaton. After each character i: ON_HIT runs for each
 * pattern that ends there, with `pid` and `depth` set, then AFTER runs, with `state` set. */
#define AC_WALK(TYPE, ON_HIT, AFTER)                                                                       \
    do {                                                                                                   \
        const TYPE *chars = (const TYPE *)data;                                                            \
        int32_t state = 0;                                                                                 \
        for (Py_ssize_t i = 0; i < n; i++) {                                                               \
            int32_t s_ = ac_step(a, state, chars[i]);                                                      \
            state = s_ & ST_MASK;                                                                          \
            if (may_report(s_)) FOR_EACH_OUTPUT(a, state, pid, depth, ON_HIT)                             \
            AFTER                                                                                          \
        }                                                                                                  \
    } while (0)

/* Every occurrence of every pattern in data[0..n), into `b` by end, longest first. */
#define AC_SCAN(TYPE) AC_WALK(TYPE, { if (hits_push(b, pid, i + 1 - depth, i + 1) < 0) return -1; }, {})

static int automaton_scan(const Automaton *a, int kind, const void *data, Py_ssize_t n, HitBuffer *b) {
    switch (kind) {
    case PyUnicode_1BYTE_KIND: AC_SCAN(Py_UCS1); break;
    case PyUnicode_2BYTE_KIND: AC_SCAN(Py_UCS2); break;
    default: AC_SCAN(Py_UCS4); break;
    }
    return 0;
}

/* One pass for the text and its joined form (the text without the characters of the `separators` bitmap):
 * the text's hits into `text_hits`, and into `spanning` the joined form's hits that have a separator inside
 * them in the text, in text positions (start of the first character, end of the last). A second state walks
 * the joined form; where it equals the text's state (from the first character after the last separator
 * until the next one) its hits are the text's own, so it is not stepped. `at`: room for n positions. */
#define AC_SCAN_JOINED(TYPE)                                                                               \
    do {                                                                                                   \
        const TYPE *chars = (const TYPE *)data;                                                            \
        int32_t ts = 0, js = 0;                                                                            \
        Py_ssize_t j = 0;                                                                                  \
        for (Py_ssize_t i = 0; i < n; i++) {                                                               \
            Py_UCS4 c = chars[i];                                                                          \
            int32_t before = ts;                                                                           \
            int32_t s_ = ac_step(a, ts, c);                                                                \
            ts = s_ & ST_MASK;                                                                             \
            if (may_report(s_)) FOR_EACH_OUTPUT(a, ts, pid, depth, {                                      \
                if (hits_push(text_hits, pid, i + 1 - depth, i + 1) < 0) return -1;                        \
            })                                                                                             \
            if (c <= 0xFFFF && bit_set(separators, c)) continue;                                           \
            at[j++] = i;                                                                                   \
            if (js == before) {                                                                            \
                js = ts;                                                                                   \
                continue;                                                                                  \
            }                                                                                              \
            s_ = ac_step(a, js, c);                                                                        \
            js = s_ & ST_MASK;                                                                             \
            if (may_report(s_)) FOR_EACH_OUTPUT(a, js, pid, depth, {                                      \
                Py_ssize_t start = at[j - depth];                                                          \
                if (i + 1 - start != depth && hits_push(spanning, pid, start, i + 1) < 0) return -1;       \
            })                                                                                             \
        }                                                                                                  \
    } while (0)

static int automaton_scan_joined(const Automaton *a, int kind, const void *data, Py_ssize_t n,
                                 const unsigned char *separators, Py_ssize_t *at, HitBuffer *text_hits,
                                 HitBuffer *spanning) {
    switch (kind) {
    case PyUnicode_1BYTE_KIND: AC_SCAN_JOINED(Py_UCS1); break;
    case PyUnicode_2BYTE_KIND: AC_SCAN_JOINED(Py_UCS2); break;
    default: AC_SCAN_JOINED(Py_UCS4); break;
    }
    return 0;
}

/* Appends (pid, start, end) to `out`; 0, or -1 on error. */
static int append_hit(PyObject *out, const AcHit *h) {
    PyObject *pid = PyLong_FromLong(h->pid), *start = PyLong_FromSsize_t(h->start), *end = PyLong_FromSsize_t(h->end);
    PyObject *hit = pid != NULL && start != NULL && end != NULL ? PyTuple_Pack(3, pid, start, end) : NULL;
    Py_XDECREF(pid);
    Py_XDECREF(start);
    Py_XDECREF(end);
    if (hit == NULL) return -1;
    int r = PyList_Append(out, hit);
    Py_DECREF(hit);
    return r;
}

/* The hits of `b` as a new list of (pid, start, end): all of them, or with `rules` the ones it accepts. The
 * caller holds `text` (a particle lookup compares strings, which could run Python code). */
static PyObject *hit_list(const HitBuffer *b, const AcceptRules *rules, PyObject *text) {
    PyObject *out = PyList_New(0);
    if (out == NULL) return NULL;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    for (Py_ssize_t k = 0; k < b->len; k++) {
        if (rules != NULL) {
            int r = rules_accept(rules, text, kind, data, n, &b->items[k]);
            if (r < 0) goto fail;
            if (r == 0) continue;
        }
        if (append_hit(out, &b->items[k]) < 0) goto fail;
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

static int compare_leftmost(const void *pa, const void *pb) {
    const AcHit *a = pa, *b = pb;
    if (a->start != b->start) return a->start < b->start ? -1 : 1;
    if (a->end != b->end) return a->end > b->end ? -1 : 1;
    return a->pid < b->pid ? -1 : (a->pid > b->pid);
}

/* Reports the pending hits that are final: while the leftmost of them (the longest of those that start there)
 * starts before `min_start`, where every later hit starts, it is the next leftmost-longest hit; the pending
 * hits it overlaps are dropped. 0, or -1 on error. */
static int select_final(HitBuffer *pending, Py_ssize_t *pending_min, Py_ssize_t min_start, HitBuffer *out) {
    while (pending->len > 0 && *pending_min < min_start) {
        Py_ssize_t best = 0;
        for (Py_ssize_t k = 1; k < pending->len; k++) {
            if (compare_leftmost(&pending->items[k], &pending->items[best]) < 0) best = k;
        }
        AcHit chosen = pending->items[best];
        if (hits_push(out, chosen.pid, chosen.start, chosen.end) < 0) return -1;
        Py_ssize_t kept = 0;
        *pending_min = PY_SSIZE_T_MAX;
        for (Py_ssize_t k = 0; k < pending->len; k++) {
            if (pending->items[k].start < chosen.end) continue;
            if (pending->items[k].start < *pending_min) *pending_min = pending->items[k].start;
            pending->items[kept++] = pending->items[k];
        }
        pending->len = kept;
    }
    return 0;
}

/* The hits that a leftmost-longest search reports (ahocorasick-rs MatchKind.LeftmostLongest), into `out`: from
 * the left, the longest of the hits that start first, then the same after its end. Decided as the hits arrive,
 * so only the hits that may still be chosen are held: every later hit starts at or after i + 1 - depth of the
 * current state. */
#define AC_SCAN_LEFTMOST(TYPE)                                                                             \
    AC_WALK(                                                                                               \
        TYPE,                                                                                              \
        {                                                                                                  \
            Py_ssize_t start = i + 1 - depth;                                                              \
            if (start >= taken_end) {                                                                      \
                if (hits_push(&pending, pid, start, i + 1) < 0) goto fail;                                 \
                if (start < pending_min) pending_min = start;                                              \
            }                                                                                              \
        },                                                                                                 \
        {                                                                                                  \
            if (pending.len > 0 && pending_min < i + 1 - a->outs[state].depth) {                           \
                if (select_final(&pending, &pending_min, i + 1 - a->outs[state].depth, out) < 0) goto fail; \
                taken_end = out->items[out->len - 1].end;                                                  \
            }                                                                                              \
        })

static int automaton_scan_leftmost(const Automaton *a, int kind, const void *data, Py_ssize_t n, HitBuffer *out) {
    HitBuffer pending;
    hits_init(&pending);
    Py_ssize_t pending_min = PY_SSIZE_T_MAX, taken_end = 0;
    switch (kind) {
    case PyUnicode_1BYTE_KIND: AC_SCAN_LEFTMOST(Py_UCS1); break;
    case PyUnicode_2BYTE_KIND: AC_SCAN_LEFTMOST(Py_UCS2); break;
    default: AC_SCAN_LEFTMOST(Py_UCS4); break;
    }
    if (select_final(&pending, &pending_min, PY_SSIZE_T_MAX, out) < 0) goto fail;
    hits_free(&pending);
    return 0;
fail:
    hits_free(&pending);
    return -1;
}

static int automaton_ready(Automaton *a, PyObject *text) {
    if (a->nnodes == 0) {
        PyErr_SetString(PyExc_ValueError, "Automaton: not initialized");
        return -1;
    }
    return PyUnicode_READY(text);
}

/* find(text) / find_leftmost_longest(text) / find_accepted(text, codes, code_size, edges, flags, particles). */
static PyObject *automaton_search(Automaton *a, PyObject *text, const AcceptRules *rules, int leftmost_longest) {
    if (automaton_ready(a, text) < 0) return NULL;
    HitBuffer b;
    hits_init(&b);
    PyObject *out = NULL;
    Py_INCREF(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int scanned = leftmost_longest ? automaton_scan_leftmost(a, kind, data, n, &b) : automaton_scan(a, kind, data, n, &b);
    if (scanned == 0) out = hit_list(&b, rules, text);
    hits_free(&b);
    Py_DECREF(text);
    return out;
}

static PyObject *automaton_find(Automaton *a, PyObject *arg) {
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "find: expected a str");
        return NULL;
    }
    return automaton_search(a, arg, NULL, 0);
}

static PyObject *automaton_find_leftmost_longest(Automaton *a, PyObject *arg) {
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "find_leftmost_longest: expected a str");
        return NULL;
    }
    return automaton_search(a, arg, NULL, 1);
}

static PyObject *automaton_find_accepted(Automaton *a, PyObject *args) {
    PyObject *text, *codes, *edges, *flags, *particles;
    int code_size;
    AcceptRules rules;
    if (!PyArg_ParseTuple(args, "UOiOOO!:find_accepted", &text, &codes, &code_size, &edges, &flags,
                          &PyFrozenSet_Type, &particles) ||
        rules_get(&rules, codes, code_size, edges, flags, particles) < 0) {
        return NULL;
    }
    PyObject *out = automaton_search(a, text, &rules, 0);
    rules_release(&rules);
    return out;
}

/* find_with_joined(text, separators, codes, code_size, edges, flags, particles) -> (accepted, spanning)
 *
 * `accepted`: find_accepted(text, ...). `spanning`: the hits of the joined text (text without the characters
 * of the `separators` bitmap, guard.normalize.remove_separators) that have a separator inside them in the
 * text, as (pid, start, end) in text positions: start of the first character, end of the last. The joined
 * text's other hits are hits of the text itself. One pass over the text for both. */
static PyObject *automaton_find_with_joined(Automaton *a, PyObject *args) {
    PyObject *text, *separators_obj, *codes, *edges, *flags, *particles;
    int code_size;
    AcceptRules rules;
    Py_buffer separators;
    if (!PyArg_ParseTuple(args, "UOOiOOO!:find_with_joined", &text, &separators_obj, &codes, &code_size, &edges,
                          &flags, &PyFrozenSet_Type, &particles)) {
        return NULL;
    }
    if (get_table(separators_obj, &separators, 8192, "separators") < 0) return NULL;
    if (rules_get(&rules, codes, code_size, edges, flags, particles) < 0) {
        PyBuffer_Release(&separators);
        return NULL;
    }
    PyObject *result = NULL, *accepted = NULL, *spanning_list = NULL;
    HitBuffer text_hits, spanning;
    hits_init(&text_hits);
    hits_init(&spanning);
    Py_ssize_t local_at[512], *at = local_at;
    Py_INCREF(text);
    if (automaton_ready(a, text) < 0) goto done;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n > 512) {
        at = PyMem_Malloc(n * sizeof(Py_ssize_t));
        if (at == NULL) {
            PyErr_NoMemory();
            goto done;
        }
    }
    if (automaton_scan_joined(a, PyUnicode_KIND(text), PyUnicode_DATA(text), n, separators.buf, at, &text_hits,
                              &spanning) < 0) {
        goto done;
    }
    accepted = hit_list(&text_hits, &rules, text);
    if (accepted == NULL) goto done;
    spanning_list = hit_list(&spanning, NULL, text);
    if (spanning_list == NULL) goto done;
    result = PyTuple_Pack(2, accepted, spanning_list);
done:
    Py_XDECREF(accepted);
    Py_XDECREF(spanning_list);
    if (at != local_at) PyMem_Free(at);
    hits_free(&text_hits);
    hits_free(&spanning);
    rules_release(&rules);
    PyBuffer_Release(&separators);
    Py_DECREF(text);
    return result;
}

static PyObject *automaton_nbytes(Automaton *a, void *closure) {
    Py_ssize_t root = a->root_hash != NULL ? ((Py_ssize_t)a->root_mask + 1) * (Py_ssize_t)sizeof(AcEdge) : 0;
    Py_ssize_t dense = 0;
    for (int k = 0; k < DENSE_LEVELS; k++) {
        if (a->levels[k].rows != NULL) dense += (Py_ssize_t)(a->levels[k].hi - a->levels[k].lo) * a->ncols * sizeof(int32_t);
    }
    return PyLong_FromSsize_t(a->nnodes * (Py_ssize_t)(sizeof(AcNode) + sizeof(uint32_t) + sizeof(AcOut)) + a->npatterns * 4 + root + dense);
}

static PyObject *automaton_len(Automaton *a, void *closure) { return PyLong_FromSsize_t(a->npatterns); }

static PyMethodDef automaton_methods[] = {
    {"find", (PyCFunction)automaton_find, METH_O,
     "(pattern, start, end) of every occurrence of every pattern in the text, by end, longest first."},
    {"find_leftmost_longest", (PyCFunction)automaton_find_leftmost_longest, METH_O,
     "(pattern, start, end) of the non-overlapping hits a leftmost-longest search reports, from the left."},
    {"find_with_joined", (PyCFunction)automaton_find_with_joined, METH_VARARGS,
     "(find_accepted(text, ...), the joined text's hits with a separator inside), from one pass."},
    {"find_accepted", (PyCFunction)automaton_find_accepted, METH_VARARGS,
     "find(text) with the rules of accept_hits(text, hits, codes, code_size, edges, flags, particles)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef automaton_getset[] = {
    {"nbytes", (getter)automaton_nbytes, NULL, "The size of the automaton's arrays in bytes.", NULL},
    {"patterns", (getter)automaton_len, NULL, "The number of patterns.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject AutomatonType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "guard._speedups.Automaton",
    .tp_doc = "Automaton(patterns): an Aho-Corasick automaton over the code points of non-empty strings.",
    .tp_basicsize = sizeof(Automaton),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)automaton_init,
    .tp_dealloc = (destructor)automaton_dealloc,
    .tp_methods = automaton_methods,
    .tp_getset = automaton_getset,
};

/* ------------------------------------------------------------------------------------------------------
 * HashRanges: the typo index's lookup (guard/fuzzy.py). The index is a sorted array of uint32 hashes and the
 * target of each; a token's probes (its CRC-32, that of each one-character deletion, and that of its phonetic
 * key after \x01) are looked up there. A table of where each 16-bit hash prefix starts leaves a few keys to
 * search per probe, so a probe costs one or two cache misses, and the probes of a prompt's words are made and
 * looked up without creating an object per probe.
 * ------------------------------------------------------------------------------------------------------ */

static uint32_t crc_table[256];

static void crc_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

/* zlib.crc32 continued over data[0..n): start from 0 for a whole string. */
static inline uint32_t crc_update(uint32_t crc, const unsigned char *data, Py_ssize_t n) {
    crc = ~crc;
    for (Py_ssize_t i = 0; i < n; i++) crc = crc_table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

#define PREFIX_BITS 16

typedef struct {
    PyObject_HEAD
    Py_buffer keys, targets; /* uint32 sorted, int32 aligned with keys */
    Py_ssize_t n;
    int32_t *first; /* first[p]: the first key whose top PREFIX_BITS bits are >= p; first[1 << PREFIX_BITS] = n */
} HashRanges;

static void hash_ranges_release(HashRanges *r) {
    if (r->first != NULL) {
        PyBuffer_Release(&r->keys);
        PyBuffer_Release(&r->targets);
        PyMem_Free(r->first);
        r->first = NULL;
    }
    r->n = 0;
}

static void hash_ranges_dealloc(HashRanges *r) {
    hash_ranges_release(r);
    Py_TYPE(r)->tp_free((PyObject *)r);
}

/* HashRanges(keys, targets): buffers of n native uint32 (sorted) and n int32. */
static int hash_ranges_init(HashRanges *r, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"keys", "targets", NULL};
    PyObject *keys_obj, *targets_obj;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO:HashRanges", kwlist, &keys_obj, &targets_obj)) return -1;
    Py_buffer keys, targets;
    if (PyObject_GetBuffer(keys_obj, &keys, PyBUF_SIMPLE) < 0) return -1;
    if (PyObject_GetBuffer(targets_obj, &targets, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&keys);
        return -1;
    }
    Py_ssize_t n = keys.len / 4;
    int32_t *first = NULL;
    const uint32_t *k = keys.buf;
    if (keys.len % 4 != 0 || targets.len != keys.len || n >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "HashRanges: keys and targets must be as many 4-byte values");
        goto fail;
    }
    for (Py_ssize_t i = 1; i < n; i++) {
        if (k[i - 1] > k[i]) {
            PyErr_SetString(PyExc_ValueError, "HashRanges: the keys are not sorted");
            goto fail;
        }
    }
    first = PyMem_Malloc(((1 << PREFIX_BITS) + 1) * sizeof(int32_t));
    if (first == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_ssize_t at = 0;
    for (uint32_t p = 0; p <= (1u << PREFIX_BITS); p++) {
        while (at < n && (k[at] >> (32 - PREFIX_BITS)) < p) at++;
        first[p] = (int32_t)at;
    }
    hash_ranges_release(r); /* a second __init__ replaces the tables whole */
    r->keys = keys;
    r->targets = targets;
    r->n = n;
    r->first = first;
    return 0;
fail:
    PyBuffer_Release(&keys);
    PyBuffer_Release(&targets);
    return -1;
}

static int hash_ranges_ready(const HashRanges *r) {
    if (r->first == NULL) {
        PyErr_SetString(PyExc_ValueError, "HashRanges: not initialized");
        return -1;
    }
    return 0;
}

/* The index range [*lo, *hi) of the keys equal to h. */
static inline void hash_range(const HashRanges *r, uint32_t h, Py_ssize_t *lo, Py_ssize_t *hi) {
    const uint32_t *k = r->keys.buf;
    uint32_t p = h >> (32 - PREFIX_BITS);
    Py_ssize_t a = r->first[p], b = r->first[p + 1];
    while (a < b) { /* the first key >= h */
        Py_ssize_t mid = a + (b - a) / 2;
        if (k[mid] < h) a = mid + 1;
        else b = mid;
    }
    Py_ssize_t e = a;
    Py_ssize_t end = r->first[p + 1];
    while (e < end && k[e] == h) e++;
    *lo = a;
    *hi = e;
}

/* find(hashes: list[int]) -> list[tuple[int, list[int]]]: (position in hashes, its targets) of each hash that
 * is a key, in the order of `hashes`. */
static PyObject *hash_ranges_find(HashRanges *r, PyObject *arg) {
    if (hash_ranges_ready(r) < 0) return NULL;
    if (!PyList_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "HashRanges.find expects a list of int");
        return NULL;
    }
    PyObject *out = PyList_New(0);
    if (out == NULL) return NULL;
    const int32_t *t = r->targets.buf;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(arg); i++) {
        unsigned long long v = PyLong_AsUnsignedLongLong(PyList_GET_ITEM(arg, i));
        if (v == (unsigned long long)-1 && PyErr_Occurred()) goto fail;
        if (v > 0xFFFFFFFFull) continue; /* no uint32 key equals it */
        Py_ssize_t lo, hi;
        hash_range(r, (uint32_t)v, &lo, &hi);
        if (lo == hi) continue;
        PyObject *ts = PyList_New(hi - lo);
        if (ts == NULL) goto fail;
        for (Py_ssize_t j = lo; j < hi; j++) {
            PyObject *x = PyLong_FromLong(t[j]);
            if (x == NULL) {
                Py_DECREF(ts);
                goto fail;
            }
            PyList_SET_ITEM(ts, j - lo, x);
        }
        PyObject *item = Py_BuildValue("(nN)", i, ts);
        if (item == NULL || PyList_Append(out, item) < 0) {
            Py_XDECREF(item);
            goto fail;
        }
        Py_DECREF(item);
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

typedef struct {
    int32_t *items;
    Py_ssize_t len, cap;
    int32_t local[64];
} TargetBuffer;

static int targets_push_range(TargetBuffer *b, const int32_t *t, Py_ssize_t lo, Py_ssize_t hi) {
    if (b->len + (hi - lo) > b->cap) {
        Py_ssize_t cap = b->cap;
        while (cap < b->len + (hi - lo)) cap *= 2;
        int32_t *items = PyMem_Malloc(cap * sizeof(int32_t));
        if (items == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        memcpy(items, b->items, b->len * sizeof(int32_t));
        if (b->items != b->local) PyMem_Free(b->items);
        b->items = items;
        b->cap = cap;
    }
    memcpy(b->items + b->len, t + lo, (hi - lo) * sizeof(int32_t));
    b->len += hi - lo;
    return 0;
}

static int compare_int32(const void *pa, const void *pb) {
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    return (a > b) - (a < b);
}

static int probe_into(const HashRanges *r, uint32_t h, TargetBuffer *b) {
    Py_ssize_t lo, hi;
    hash_range(r, h, &lo, &hi);
    return lo < hi ? targets_push_range(b, r->targets.buf, lo, hi) : 0;
}

/* The targets of one token (UTF-8 `s`, n bytes) and its phonetic key, sorted and without repeats, into b. With
 * `key_only`, only the key's probe (the token is too long for it or a deletion of it to be a key). */
static int token_targets(const HashRanges *r, const char *s, Py_ssize_t n, const char *key, Py_ssize_t nkey,
                         int key_only, TargetBuffer *b) {
    const unsigned char *u = (const unsigned char *)s;
    if (!key_only && probe_into(r, crc_update(0, u, n), b) < 0) return -1;
    /* One character deleted at a time (a character is one UTF-8 sequence): the CRC of the bytes before it,
     * continued over the bytes after it. */
    uint32_t before = 0;
    for (Py_ssize_t a = 0; a < n && !key_only;) {
        Py_ssize_t e = a + 1;
        while (e < n && (u[e] & 0xC0) == 0x80) e++;
        if (probe_into(r, crc_update(before, u + e, n - e), b) < 0) return -1;
        before = crc_update(before, u + a, e - a);
        a = e;
    }
    static const unsigned char marker = 1;
    if (probe_into(r, crc_update(crc_update(0, &marker, 1), (const unsigned char *)key, nkey), b) < 0) return -1;
    if (b->len > 1) {
        qsort(b->items, b->len, sizeof(int32_t), compare_int32);
        Py_ssize_t m = 1;
        for (Py_ssize_t i = 1; i < b->len; i++) {
            if (b->items[i] != b->items[m - 1]) b->items[m++] = b->items[i];
        }
        b->len = m;
    }
    return 0;
}

/* candidates(tokens: list[str], keys: list[str], longest: int = -1) -> list[list[int] | None]: for each token of
 * four characters or more, the targets that share a probe with it (keys[i]: its phonetic key), sorted; None when
 * none does. A token more than one character longer than `longest` (the longest indexed word, when >= 0) probes
 * only its key, as guard.fuzzy._probe_hashes does. */
static PyObject *hash_ranges_candidates(HashRanges *r, PyObject *args) {
    PyObject *tokens, *keys;
    Py_ssize_t longest = -1;
    if (hash_ranges_ready(r) < 0) return NULL;
    if (!PyArg_ParseTuple(args, "O!O!|n:candidates", &PyList_Type, &tokens, &PyList_Type, &keys, &longest)) return NULL;
    Py_ssize_t count = PyList_GET_SIZE(tokens);
    if (PyList_GET_SIZE(keys) != count) {
        PyErr_SetString(PyExc_ValueError, "candidates: as many keys as tokens");
        return NULL;
    }
    PyObject *out = PyList_New(count);
    if (out == NULL) return NULL;
    TargetBuffer b;
    b.items = b.local;
    b.cap = 64;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *token = PyList_GET_ITEM(tokens, i), *key = PyList_GET_ITEM(keys, i);
        PyObject *result = Py_None;
        if (check_str(token, "candidates") < 0 || check_str(key, "candidates") < 0) goto fail;
        if (PyUnicode_GET_LENGTH(token) >= 4) {
            Py_ssize_t n, nkey;
            const char *s = PyUnicode_AsUTF8AndSize(token, &n);
            const char *k = s == NULL ? NULL : PyUnicode_AsUTF8AndSize(key, &nkey);
            if (k == NULL) goto fail;
            b.len = 0;
            int key_only = longest >= 0 && PyUnicode_GET_LENGTH(token) > longest + 1;
            if (token_targets(r, s, n, k, nkey, key_only, &b) < 0) goto fail;
            if (b.len > 0) {
                result = PyList_New(b.len);
                if (result == NULL) goto fail;
                for (Py_ssize_t j = 0; j < b.len; j++) {
                    PyObject *x = PyLong_FromLong(b.items[j]);
                    if (x == NULL) {
                        Py_DECREF(result);
                        goto fail;
                    }
                    PyList_SET_ITEM(result, j, x);
                }
            }
        }
        if (result == Py_None) Py_INCREF(Py_None);
        PyList_SET_ITEM(out, i, result);
    }
    if (b.items != b.local) PyMem_Free(b.items);
    return out;
fail:
    if (b.items != b.local) PyMem_Free(b.items);
    Py_DECREF(out);
    return NULL;
}

static PyObject *hash_ranges_nbytes(HashRanges *r, void *closure) {
    return PyLong_FromSsize_t(r->first == NULL ? 0 : ((1 << PREFIX_BITS) + 1) * (Py_ssize_t)sizeof(int32_t));
}

static PyMethodDef hash_ranges_methods[] = {
    {"find", (PyCFunction)hash_ranges_find, METH_O,
     "(position, targets) of each hash of the list that is a key, in the list's order."},
    {"candidates", (PyCFunction)hash_ranges_candidates, METH_VARARGS,
     "For each token (of four characters or more) and its phonetic key: the sorted targets of its probes, or None."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef hash_ranges_getset[] = {
    {"nbytes", (getter)hash_ranges_nbytes, NULL, "The size of the prefix table in bytes (the keys are the caller's).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject HashRangesType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "guard._speedups.HashRanges",
    .tp_doc = "HashRanges(keys, targets): the targets of uint32 hashes, from a sorted key array and its targets "
              "(buffers of native uint32 and int32), and the typo index's probes of tokens.",
    .tp_basicsize = sizeof(HashRanges),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)hash_ranges_init,
    .tp_dealloc = (destructor)hash_ranges_dealloc,
    .tp_methods = hash_ranges_methods,
    .tp_getset = hash_ranges_getset,
};

static PyMethodDef methods[] = {
    {"accept_hits", accept_hits, METH_VARARGS, "The hits on word boundaries whose pattern has a flag set."},
    {"set_boundary_words", set_boundary_words, METH_VARARGS, "The words the boundary rules let stand next to a name."},
    {"rare_latin_words", rare_latin_words, METH_VARARGS, "Latin words of the typo pass that no known set holds."},
    {"leet_tokens", leet_tokens, METH_O, "Spans of the runs that could be leetspeak."},
    {"fold_text", fold_text, METH_VARARGS, "Fold a text in one pass, with an offset map once a character folds to none or several; None for the general path."},
    {"fold_homoglyphs", fold_homoglyphs, METH_VARARGS, "Fold homoglyphs by the word rule of guard.normalize."},
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
    if (PyType_Ready(&AutomatonType) < 0 || PyType_Ready(&KnownWordsType) < 0 ||
        PyType_Ready(&HashRangesType) < 0 ||
        PyModule_AddIntConstant(m, "API_VERSION", API_VERSION) < 0 ||
        PyModule_AddIntConstant(m, "FLAG_LEET_NEXT_TO_LETTER", FLAG_LEET_NEXT_TO_LETTER) < 0 ||
        PyModule_AddIntConstant(m, "FLAG_KATAKANA", FLAG_KATAKANA) < 0 ||
        PyModule_AddIntConstant(m, "FLAG_MARKED", FLAG_MARKED) < 0 ||
        PyModule_AddIntConstant(m, "FLAG_ASTRAL", FLAG_ASTRAL) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&AutomatonType);
    if (PyModule_AddObject(m, "Automaton", (PyObject *)&AutomatonType) < 0) {
        Py_DECREF(&AutomatonType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&KnownWordsType);
    if (PyModule_AddObject(m, "KnownWords", (PyObject *)&KnownWordsType) < 0) {
        Py_DECREF(&KnownWordsType);
        Py_DECREF(m);
        return NULL;
    }
    crc_init();
    Py_INCREF(&HashRangesType);
    if (PyModule_AddObject(m, "HashRanges", (PyObject *)&HashRangesType) < 0) {
        Py_DECREF(&HashRangesType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
