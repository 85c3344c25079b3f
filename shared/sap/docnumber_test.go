package sap

import "testing"

func TestNormalizeDocumentNumber(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"164", "164"},
		{"0000000164", "164"},   // ALPHA's internal form, as events send it
		{" 0000000164 ", "164"}, // and with the padding of a fixed-width field
		{"\t80000001\n", "80000001"},
		{"0080000001", "80000001"},
		{"0", "0"},
		{"0000000000", "0"},
		{"", ""},
		{"   ", ""},
		{"90000000", "90000000"},
		{"abc-12", "ABC-12"}, // non-numeric numbers keep their zeros and get SAP's upper case
		{"00a1", "00A1"},
		{"12 34", "12 34"},
		{"-164", "-164"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := NormalizeDocumentNumber(tc.in); got != tc.want {
				t.Fatalf("NormalizeDocumentNumber(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if again := NormalizeDocumentNumber(tc.want); again != tc.want {
				t.Fatalf("not idempotent: %q gives %q", tc.want, again)
			}
		})
	}
}
