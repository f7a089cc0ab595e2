package mcphttp

// A walk over valid JSON without decoding it, for the fast path's checks
// of a call and its result (fastcall.go, result.go): encoding/json's
// decoders build maps of every member, which cost more than the call's own
// JSON-RPC work. Callers check the text with jsonlimit.ValidUnique first.

// members calls fn with each key (quoted, as written) and value of obj,
// valid JSON, until fn returns false, and reports whether obj is an object
// and fn never returned false.
func members(obj []byte, fn func(key, val []byte) bool) bool {
	i := skipSpace(obj, 0)
	if obj[i] != '{' {
		return false
	}
	i = skipSpace(obj, i+1)
	for obj[i] != '}' {
		keyEnd := skipValue(obj, i)
		v := skipSpace(obj, skipSpace(obj, keyEnd)+1) // past the colon
		end := skipValue(obj, v)
		if !fn(obj[i:keyEnd], obj[v:end]) {
			return false
		}
		i = skipSpace(obj, end)
		if obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	return true
}

// skipValue returns the end of the value that starts at data[i], in valid
// JSON.
func skipValue(data []byte, i int) int {
	depth := 0
	for ; i < len(data); i++ {
		switch data[i] {
		case '"':
			i++
			for data[i] != '"' {
				if data[i] == '\\' {
					i++
				}
				i++
			}
		case '{', '[':
			depth++
			continue
		case '}', ']':
			depth--
		case ',', ':', ' ', '\t', '\r', '\n':
			continue // between the container's members
		default: // a number or literal: up to the next delimiter
			if depth > 0 {
				continue
			}
			for i+1 < len(data) && !delim(data[i+1]) {
				i++
			}
		}
		if depth == 0 {
			return i + 1
		}
	}
	return i
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && space(data[i]) {
		i++
	}
	return i
}

func space(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func delim(c byte) bool { return c == ',' || c == ':' || c == ']' || c == '}' || space(c) }
