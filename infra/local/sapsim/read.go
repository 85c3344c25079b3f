package sapsim

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

func (h *handler) notFound(w http.ResponseWriter, et *entityType) {
	h.fail(w, http.StatusNotFound, "/IWBEP/CM_MGW_RT/020", fmt.Sprintf("Resource not found for segment '%s'", et.Name), "")
}

func (h *handler) entity(w http.ResponseWriter, r *http.Request, src *source, pred, navName string) {
	o, err := parseOptions(src.et, r.URL.Query())
	if err != nil {
		h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/004", err.Error(), "")
		return
	}
	rec, err := h.lookup(src, pred)
	if err != nil {
		if errors.Is(err, errNotFound) {
			h.notFound(w, src.et)
			return
		}
		h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/020", err.Error(), "")
		return
	}
	enc := &encoder{root: h.root}
	if navName != "" {
		n, ok := src.et.nav(navName)
		if !ok || n.Target == "" {
			h.fail(w, http.StatusNotFound, "/IWBEP/CM_MGW_RT/020", fmt.Sprintf("Resource not found for segment '%s'", navName), "")
			return
		}
		v, _ := h.navValue(src.et, rec, navName)
		target := typesByName[n.Target]
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if n.Many {
			rows, _ := v.([]record)
			b := []byte(`{"d":{"results":[`)
			for i, row := range rows {
				if i > 0 {
					b = append(b, ',')
				}
				b = enc.appendRecord(b, target, row, nil, nil)
			}
			_, _ = w.Write(append(b, "]}}"...))
			return
		}
		row, _ := v.(record)
		if row == nil {
			h.notFound(w, target)
			return
		}
		_, _ = w.Write(append(enc.appendRecord([]byte(`{"d":`), target, row, nil, nil), '}'))
		return
	}
	h.fill(src.et, rec, o.expand)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if src.et.ETagProp != "" {
		w.Header().Set("ETag", etagOf(src.et, rec))
	}
	_, _ = w.Write(append(enc.appendRecord([]byte(`{"d":`), src.et, rec, o.sel, o.expand), '}'))
}

// collection answers a read of an entity set with server paging: at most PageSize rows, then __next with a
// $skiptoken "<raw index>_<rows sent>" that resumes where this page stopped.
func (h *handler) collection(w http.ResponseWriter, r *http.Request, src *source) {
	q := r.URL.Query()
	o, err := parseOptions(src.et, q)
	if err != nil {
		h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/004", err.Error(), "")
		return
	}
	// Over generated data a sorted read is served from a cached order (see sortcache.go); a keyset page's bound
	// on the first sort key is split off, so that every page of one read shares the order of the rest.
	filt, pure := o.filter, len(o.orderBy) > 0 && !o.orderBy[0].desc && h.mv != nil && h.mv.pure()
	var bound []*expr
	if pure {
		filt, bound = keysetBound(o.filter, o.orderBy)
	}
	if src.view != nil && filt != nil {
		if v := src.view(filt); v != nil {
			src = v
		}
	}
	lo, hi := 0, src.n
	if src.narrow != nil && filt != nil {
		lo, hi = src.narrow(filt)
		hi = min(hi, src.n)
	}
	match := func(rec record) bool { return o.filter == nil || o.filter.match(rec) }
	if pure && hi-lo <= maxCachedRows {
		key := r.URL.Path + "\x00" + exprKey(filt) + "\x00" + q.Get("$orderby")
		pos := h.s.sorts.sorted(key, src, lo, hi, func(rec record) bool { return filt == nil || filt.match(rec) }, o.orderBy)
		if bound != nil {
			at := src.at
			pos = pos[sort.Search(len(pos), func(i int) bool { return afterBound(at(pos[i]), bound) }):]
		}
		orig := src
		src = &source{et: orig.et, n: len(pos), at: func(i int) record { return orig.at(pos[i]) }}
		lo, hi = 0, len(pos)
		match = func(record) bool { return true }
	} else if len(o.orderBy) > 0 {
		// Sorting needs the matches in memory; generated sets are already in key order, so large sorts are refused.
		if hi-lo > maxSortRows {
			h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/004",
				fmt.Sprintf("$orderby over more than %d rows is not supported; filter first", maxSortRows), "")
			return
		}
		var rows []record
		for i := lo; i < hi; i++ {
			if rec := src.at(i); match(rec) {
				rows = append(rows, rec)
			}
		}
		sortRecords(rows, o.orderBy)
		src = &source{et: src.et, n: len(rows), at: func(i int) record { return rows[i] }}
		lo, hi = 0, len(rows)
		match = func(record) bool { return true }
	}
	start, sent, skip := lo, 0, o.skip
	if o.skipToken != "" {
		a, b, ok := strings.Cut(o.skipToken, "_")
		ra, err1 := strconv.Atoi(a)
		rb, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || ra < lo || rb < 0 {
			h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/004", "Invalid $skiptoken", "")
			return
		}
		start, sent, skip = ra, rb, 0
	}
	limit := h.s.opts.PageSize
	if o.top >= 0 {
		limit = min(limit, o.top-sent)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	bw := bufio.NewWriterSize(w, 64<<10)
	_, _ = bw.WriteString(`{"d":{`)
	if o.inlineCount {
		n := 0
		if o.filter == nil || len(o.orderBy) > 0 {
			n = hi - lo
		} else {
			for i := lo; i < hi; i++ {
				if match(src.at(i)) {
					n++
				}
			}
		}
		fmt.Fprintf(bw, `"__count":"%d",`, n)
	}
	_, _ = bw.WriteString(`"results":[`)
	enc := &encoder{root: h.root}
	buf := make([]byte, 0, 4096)
	emitted, i := 0, start
	for ; i < hi && emitted < limit; i++ {
		rec := src.at(i)
		if !match(rec) {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		h.fill(src.et, rec, o.expand)
		buf = buf[:0]
		if emitted > 0 {
			buf = append(buf, ',')
		}
		buf = enc.appendRecord(buf, src.et, rec, o.sel, o.expand)
		_, _ = bw.Write(buf)
		emitted++
	}
	_, _ = bw.WriteString("]")
	more := i < hi && (o.top < 0 || sent+emitted < o.top)
	if more && emitted == limit && limit == h.s.opts.PageSize {
		nq := url.Values{}
		for k, vs := range q {
			if k != "$skiptoken" && k != "$skip" && k != "$inlinecount" {
				nq[k] = vs
			}
		}
		next := h.root + "/" + src.et.Set + "?" + nq.Encode()
		if len(nq) > 0 {
			next += "&"
		}
		next += "$skiptoken=" + strconv.Itoa(i) + "_" + strconv.Itoa(sent+emitted)
		_, _ = bw.WriteString(`,"__next":`)
		_, _ = bw.Write(appendJSONString(nil, next))
	}
	_, _ = bw.WriteString("}}")
	_ = bw.Flush()
}

const maxSortRows = 200_000

func sortRecords(rows []record, keys []orderKey) {
	slices.SortStableFunc(rows, func(a, b record) int {
		for _, k := range keys {
			c, _ := compareValue(k.prop, a[k.prop.Name], litOf(k.prop, b[k.prop.Name]))
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
}

// litOf turns a record value into the literal form compareValue expects.
func litOf(p prop, v any) any {
	switch p.Type {
	case edmDecimal, edmDouble:
		s, _ := v.(string)
		if s == "" {
			s = "0"
		}
		return ratOf(s)
	case edmString, edmGuid, edmTime:
		s, _ := v.(string)
		return s
	case edmBoolean:
		b, _ := v.(bool)
		return b
	case edmInt32, edmByte:
		n, _ := v.(int64)
		return n
	}
	return v
}
