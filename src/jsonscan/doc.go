// Package jsonscan walks and decodes JSON texts without encoding/json's
// decoder: the bridge's hot paths find one member of a message, splice one
// in, or decode small argument objects, on every call. Each function has a
// fuzz test holding it to encoding/json's reading of the same text.
package jsonscan
