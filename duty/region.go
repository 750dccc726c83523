package duty

// ValidRegion reports whether code is an administrative division code: 6
// digits (province 320000, city 320100, county 320115), optionally followed
// by 3 digits (township, 320115001) and 3 more (village, 320115001001). The
// province part must not be 00.
func ValidRegion(code string) bool {
	switch len(code) {
	case 6, 9, 12:
	default:
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return code[:2] != "00"
}

// regionPrefix is the significant part of a valid code: a 6-digit code
// without its trailing "00" pairs (at most two, so a province keeps its two
// digits), a longer code whole.
func regionPrefix(code string) string {
	if len(code) != 6 {
		return code
	}
	p := code
	for range 2 {
		if p[len(p)-2:] != "00" {
			break
		}
		p = p[:len(p)-2]
	}
	return p
}

// RegionCovers reports whether region covers code: both are valid codes
// (see [ValidRegion]) and code starts with region's significant prefix.
// 320000 covers 320115 and 320115001; 320100 covers 320115; 320115 covers
// 320115001001 and itself; 320115001 does not cover 320115.
func RegionCovers(region, code string) bool {
	if !ValidRegion(region) || !ValidRegion(code) {
		return false
	}
	p := regionPrefix(region)
	return len(code) >= len(p) && code[:len(p)] == p
}
