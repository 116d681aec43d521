package api

import (
	"reflect"
)

// Merge returns the deep merge of layers, first to last: a later layer's
// set values win over earlier ones, maps merge key by key, and lists and
// scalars are replaced whole. Nil layers are skipped, and the result shares
// no memory with the layers. Merging no non-nil layer returns nil: no
// security block is present anywhere.
func Merge(layers ...*Security) *Security {
	out, _ := mergeLayers(layers)
	return out
}

// mergeLayers merges layers and reports, for every path it set, the index
// of the layer whose value won. A block's path maps to the last layer that
// had the block; a list's elements are found through the list's path.
func mergeLayers(layers []*Security) (*Security, map[string]int) {
	origin := map[string]int{}
	var out *Security
	for i, l := range layers {
		if l == nil {
			continue
		}
		if out == nil {
			out = &Security{}
		}
		origin[""] = i
		mergeStruct(reflect.ValueOf(out).Elem(), reflect.ValueOf(l).Elem(), "", i, origin)
	}
	return out, origin
}

func mergeStruct(dst, src reflect.Value, path string, idx int, origin map[string]int) {
	t := src.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		mergeValue(dst.Field(i), src.Field(i), joinKey(path, fieldName(f)), idx, origin)
	}
}

func mergeValue(dst, src reflect.Value, path string, idx int, origin map[string]int) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		if isBlock(src.Type().Elem()) {
			if dst.IsNil() {
				dst.Set(reflect.New(src.Type().Elem()))
			}
			origin[path] = idx
			mergeStruct(dst.Elem(), src.Elem(), path, idx, origin)
			return
		}
		dst.Set(deepCopy(src))
	case reflect.Map:
		if src.IsNil() {
			return
		}
		if dst.IsNil() {
			dst.Set(reflect.MakeMapWithSize(src.Type(), src.Len()))
		}
		iter := src.MapRange()
		for iter.Next() {
			dst.SetMapIndex(iter.Key(), deepCopy(iter.Value()))
			origin[joinKey(path, iter.Key().String())] = idx
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		dst.Set(deepCopy(src))
	default:
		if src.IsZero() {
			return
		}
		dst.Set(src)
	}
	origin[path] = idx
}

// isBlock reports whether t is a configuration block that merges field by
// field. Structs with unexported fields (Secret, Date) are single values.
func isBlock(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	for i := range t.NumField() {
		if !t.Field(i).IsExported() {
			return false
		}
	}
	return true
}

// deepCopy returns a copy of v that shares no pointers, slices or maps
// with it.
func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type().Elem())
		c.Elem().Set(deepCopy(v.Elem()))
		return c
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			c.Index(i).Set(deepCopy(v.Index(i)))
		}
		return c
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		iter := v.MapRange()
		for iter.Next() {
			c.SetMapIndex(iter.Key(), deepCopy(iter.Value()))
		}
		return c
	case reflect.Struct:
		if !isBlock(v.Type()) {
			return v
		}
		c := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			c.Field(i).Set(deepCopy(v.Field(i)))
		}
		return c
	default:
		return v
	}
}

// Clone returns a deep copy of s.
func (s *Security) Clone() *Security {
	if s == nil {
		return nil
	}
	return deepCopy(reflect.ValueOf(s)).Interface().(*Security)
}
