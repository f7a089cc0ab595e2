package mcpconn

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// retagProgress replaces params._meta.progressToken, if any, with the
// request id, which is unique on the session: callers from different
// downstream clients may all use token 1. It returns the new params and the
// caller's token (nil if params carried none, in which case params is
// returned unchanged, byte for byte).
func retagProgress(params json.RawMessage, id int64) (json.RawMessage, json.RawMessage) {
	if !bytes.Contains(params, []byte(`"progressToken"`)) {
		return params, nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(params, &obj) != nil {
		return params, nil
	}
	var meta map[string]json.RawMessage
	if json.Unmarshal(obj["_meta"], &meta) != nil || meta["progressToken"] == nil {
		return params, nil
	}
	token := meta["progressToken"]
	meta["progressToken"] = json.RawMessage(strconv.FormatInt(id, 10))
	obj["_meta"], _ = json.Marshal(meta)
	out, err := json.Marshal(obj)
	if err != nil {
		return params, nil
	}
	return out, token
}

// progressTarget parses a notifications/progress params and returns the
// request id our token encodes.
func progressTarget(params json.RawMessage) (int64, bool) {
	var p struct {
		Token json.RawMessage `json:"progressToken"`
	}
	if json.Unmarshal(params, &p) != nil {
		return 0, false
	}
	id, err := strconv.ParseInt(string(p.Token), 10, 64)
	return id, err == nil
}

// restoreProgress puts the caller's token back into a progress
// notification's params.
func restoreProgress(params, token json.RawMessage) json.RawMessage {
	var obj map[string]json.RawMessage
	if json.Unmarshal(params, &obj) != nil {
		return params
	}
	obj["progressToken"] = token
	out, err := json.Marshal(obj)
	if err != nil {
		return params
	}
	return out
}
