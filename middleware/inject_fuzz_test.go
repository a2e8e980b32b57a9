package middleware

import (
	"bytes"
	"testing"

	"golang.org/x/net/html"
)

// bnrTokenizerBodyEnd is the oracle: the offset just after the first
// <body> start tag according to golang.org/x/net/html's tokenizer, a
// full implementation of the HTML standard's tokenizer, or -1.
func bnrTokenizerBodyEnd(doc []byte) int {
	z := html.NewTokenizer(bytes.NewReader(doc))
	off := 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return -1
		}
		off += len(z.Raw())
		if tt == html.StartTagToken || tt == html.SelfClosingTagToken {
			if name, _ := z.TagName(); string(name) == "body" {
				return off
			}
		}
	}
}

// bnrOracleApplies reports whether the scanner claims to agree with the
// tokenizer on doc: not for documents starting with a UTF-16 byte order
// mark (the scanner gives up on purpose), and not for a "<!--" after a
// "<script" (the script-data escape states it leaves out).
func bnrOracleApplies(doc []byte) bool {
	if len(doc) > 0 && (doc[0] == 0xfe || doc[0] == 0xff) {
		return false
	}
	lower := bytes.ToLower(doc)
	if i := bytes.Index(lower, []byte("<script")); i >= 0 && bytes.Contains(lower[i:], []byte("<!--")) {
		return false
	}
	return true
}

// bnrScan feeds doc to a new scanner in pieces cut at cuts and returns
// the offset in doc just after the body tag, or -1.
func bnrScan(doc []byte, cuts ...int) int {
	var s htmlScanner
	prev := 0
	for _, c := range append(cuts, len(doc)) {
		if at := s.feed(doc[prev:c]); at >= 0 {
			return prev + at
		}
		prev = c
	}
	return -1
}

// bnrScannerSeeds are documents that exercise the tokenizer's corners.
var bnrScannerSeeds = []string{
	bnrPage,
	"<HTML><BODY>x",
	"<body/>",
	"<body",
	"< body><body>",
	"<<body>",
	"</body><body>",
	"</ body><body>",
	"</><body>",
	"<!--><body>",
	"<!---><body>",
	"<!----><body>",
	"<!--!><body>--><body id=2>",
	"<!-- --!><body>",
	"<!-- --!-><body>--><body id=2>",
	"<!-- -- ><body>--><body id=2>",
	"<!-x><body>",
	"<!-><body>",
	"<!DOCTYPE html><body>",
	"<?xml version='1.0'?><body>",
	"<![CDATA[<body>]]><body id=2>",
	"<bodyx><body>",
	"<body\x00><body>",
	`<body a="x>y" b='>' c=d>`,
	`<body a=">`,
	"<body a = 'x' b >",
	"<body a/b>",
	"<body/ a>",
	"<body a='1'b='2'>",
	`<div data-x="<body>"><body>`,
	"<script><body></script ><body id=2>",
	"<script><body></scripty><body></script><body id=2>",
	"<SCRIPT><body></SCRIPT><body id=2>",
	"<script><body></script/x><body id=2>",
	"<style><body></style><body id=2>",
	"<title><body></title><body id=2>",
	"<textarea><body></textarea><body id=2>",
	"<noscript><body></noscript><body id=2>",
	"<iframe><body></iframe><body id=2>",
	"<xmp><body></xmp><body id=2>",
	"<noembed><body></noembed><body id=2>",
	"<noframes><body></noframes><body id=2>",
	"<plaintext></plaintext><body>",
	"<script></<body></script><body id=2>",
	"<script><</script><body id=2>",
	"<script>a</scrip<body></script><body id=2>",
	"<p title='<body>'>x</p><BODY CLASS=\"a\">",
	"<scriptx><body>",
	"<template><body></template>",
	"<svg><body></svg>",
}

// TestHTMLScannerAgreesWithTokenizer compares the scanner with
// golang.org/x/net/html on every seed, cut at every byte.
func TestHTMLScannerAgreesWithTokenizer(t *testing.T) {
	for _, seed := range bnrScannerSeeds {
		doc := []byte(seed)
		want := bnrTokenizerBodyEnd(doc)
		for k := 0; k <= len(doc); k++ {
			if got := bnrScan(doc, k); got != want {
				t.Errorf("%q cut at %d: body ends at %d, tokenizer says %d", seed, k, got, want)
				break
			}
		}
	}
}

// FuzzHTMLScanner checks that the scanner finds the same <body> tag as
// golang.org/x/net/html, and that cutting the input into two writes
// anywhere changes nothing.
func FuzzHTMLScanner(f *testing.F) {
	for _, s := range bnrScannerSeeds {
		f.Add([]byte(s), uint16(len(s)/2))
	}
	f.Fuzz(func(t *testing.T, doc []byte, cut uint16) {
		whole := bnrScan(doc)
		k := int(cut) % (len(doc) + 1)
		if split := bnrScan(doc, k); split != whole {
			t.Fatalf("%q: %d in one write, %d cut at %d", doc, whole, split, k)
		}
		if whole >= 0 && doc[whole-1] != '>' {
			t.Fatalf("%q: injection point %d is not after a '>'", doc, whole)
		}
		if bnrOracleApplies(doc) {
			if want := bnrTokenizerBodyEnd(doc); whole != want {
				t.Fatalf("%q: body ends at %d, tokenizer says %d", doc, whole, want)
			}
		}
	})
}
