package simhome

import "time"

// crockford is the ULID alphabet.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// idGen makes ULIDs like homeassistant.util.ulid.ulid_now: 48 bits of
// milliseconds then 80 bits that Home Assistant draws at random. Here they
// come from a seeded splitmix64 sequence, so a server's ids are
// deterministic for a given clock. Not safe for concurrent use: the Server
// guards it with its mutex.
type idGen struct {
	seed uint64
}

func (g *idGen) next() uint64 {
	g.seed += 0x9e3779b97f4a7c15
	z := g.seed
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// ulid returns a 26-character ULID for time t.
func (g *idGen) ulid(t time.Time) string {
	var out [26]byte
	ms := uint64(t.UnixMilli())
	for i := 9; i >= 0; i-- {
		out[i] = crockford[ms&31]
		ms >>= 5
	}
	r1, r2 := g.next(), g.next()
	// 80 random bits: 64 from r1, 16 from r2.
	for i := 25; i >= 10; i-- {
		out[i] = crockford[r1&31]
		r1 = r1>>5 | (r2&31)<<59
		r2 >>= 5
	}
	return string(out[:])
}

// hex32 returns 32 lowercase hex digits, the shape of Home Assistant's
// uuid4().hex ids (users, devices, config entries, registry entries).
func (g *idGen) hex32() string {
	const digits = "0123456789abcdef"
	var out [32]byte
	for half := range 2 {
		v := g.next()
		for i := range 16 {
			out[half*16+i] = digits[v&15]
			v >>= 4
		}
	}
	return string(out[:])
}

// stableHex derives a deterministic 32-hex-digit id from a name, so the
// same Home always yields the same registry ids.
func stableHex(name string) string {
	g := idGen{seed: 1469598103934665603}
	for i := 0; i < len(name); i++ {
		g.seed = (g.seed ^ uint64(name[i])) * 1099511628211
	}
	return g.hex32()
}
