package fingerprints

import (
	"encoding/binary"
	"testing"

	utls "github.com/refraction-networking/utls"
)

// testHello describes a ClientHello to encode in tests. Extensions carry
// their raw data; the ext* helpers build the common ones.
type testHello struct {
	recordVersion uint16
	version       uint16
	sessionID     []byte
	ciphers       []uint16
	compression   []byte
	exts          []Extension
	noExtBlock    bool
}

// handshake encodes the bare handshake message.
func (t testHello) handshake() []byte {
	var body []byte
	v := t.version
	if v == 0 {
		v = 0x0303
	}
	body = binary.BigEndian.AppendUint16(body, v)
	body = append(body, make([]byte, 32)...)
	body = append(body, byte(len(t.sessionID)))
	body = append(body, t.sessionID...)
	body = binary.BigEndian.AppendUint16(body, uint16(2*len(t.ciphers)))
	for _, c := range t.ciphers {
		body = binary.BigEndian.AppendUint16(body, c)
	}
	comp := t.compression
	if comp == nil {
		comp = []byte{0}
	}
	body = append(body, byte(len(comp)))
	body = append(body, comp...)
	if !t.noExtBlock {
		var ext []byte
		for _, e := range t.exts {
			ext = binary.BigEndian.AppendUint16(ext, e.Type)
			ext = binary.BigEndian.AppendUint16(ext, uint16(len(e.Data)))
			ext = append(ext, e.Data...)
		}
		body = binary.BigEndian.AppendUint16(body, uint16(len(ext)))
		body = append(body, ext...)
	}
	n := len(body)
	return append([]byte{handshakeTypeClientHello, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

// records frames the handshake message in TLS records of at most
// fragment bytes each (0: one record).
func (t testHello) records(fragment int) []byte {
	return frameRecords(t.handshake(), t.recordVersion, fragment)
}

func frameRecords(msg []byte, recordVersion uint16, fragment int) []byte {
	if recordVersion == 0 {
		recordVersion = 0x0301
	}
	if fragment <= 0 {
		fragment = len(msg)
	}
	var out []byte
	for off := 0; off < len(msg); off += fragment {
		end := min(off+fragment, len(msg))
		out = append(out, recordTypeHandshake, byte(recordVersion>>8), byte(recordVersion))
		out = binary.BigEndian.AppendUint16(out, uint16(end-off))
		out = append(out, msg[off:end]...)
	}
	return out
}

func u16s(vs ...uint16) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.BigEndian.AppendUint16(b, v)
	}
	return b
}

func vec16(b []byte) []byte { return append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...) }
func vec8(b []byte) []byte  { return append([]byte{byte(len(b))}, b...) }

func extSNI(name string) Extension {
	entry := append([]byte{0}, vec16([]byte(name))...)
	return Extension{Type: ExtServerName, Data: vec16(entry)}
}

func extALPN(protos ...string) Extension {
	var list []byte
	for _, p := range protos {
		list = append(list, vec8([]byte(p))...)
	}
	return Extension{Type: ExtALPN, Data: vec16(list)}
}

func extGroups(gs ...uint16) Extension {
	return Extension{Type: ExtSupportedGroups, Data: vec16(u16s(gs...))}
}
func extSigAlgs(ss ...uint16) Extension {
	return Extension{Type: ExtSignatureAlgorithms, Data: vec16(u16s(ss...))}
}
func extVersions(vs ...uint16) Extension {
	return Extension{Type: ExtSupportedVersions, Data: vec8(u16s(vs...))}
}
func extPointFormats(fs ...byte) Extension { return Extension{Type: ExtECPointFormats, Data: vec8(fs)} }
func extEmpty(t uint16) Extension          { return Extension{Type: t} }

// utlsHello returns the bare handshake message a utls parrot would send to
// serverName, built without a network connection.
func utlsHello(t testing.TB, id utls.ClientHelloID, serverName string) []byte {
	t.Helper()
	uc := utls.UClient(nil, &utls.Config{ServerName: serverName, InsecureSkipVerify: true}, id)
	if err := uc.BuildHandshakeState(); err != nil {
		t.Fatalf("utls %s: %v", id.Str(), err)
	}
	return append([]byte(nil), uc.HandshakeState.Hello.Raw...)
}
