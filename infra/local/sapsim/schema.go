package sapsim

// The simulator knows SAP's entity types as Go tables (schema_gen.go): property names, Edm types, MaxLength,
// Precision and Scale, keys and the navigation properties it serves. It validates payloads and filters with them
// and emits properties in the EDMX order, as SAP does.

type edmType uint8

const (
	edmString edmType = iota + 1
	edmDecimal
	edmDateTime
	edmDateTimeOffset
	edmBoolean
	edmTime
	edmGuid
	edmInt32
	edmByte
	edmDouble
)

func (t edmType) String() string {
	switch t {
	case edmString:
		return "Edm.String"
	case edmDecimal:
		return "Edm.Decimal"
	case edmDateTime:
		return "Edm.DateTime"
	case edmDateTimeOffset:
		return "Edm.DateTimeOffset"
	case edmBoolean:
		return "Edm.Boolean"
	case edmTime:
		return "Edm.Time"
	case edmGuid:
		return "Edm.Guid"
	case edmInt32:
		return "Edm.Int32"
	case edmByte:
		return "Edm.Byte"
	case edmDouble:
		return "Edm.Double"
	}
	return "?"
}

type propFlag uint8

const (
	notNull propFlag = 1 << iota
	noCreate
	noUpdate
	noFilter
)

type prop struct {
	Name      string
	Type      edmType
	MaxLen    int
	Precision int
	Scale     int
	Flags     propFlag
}

type nav struct {
	Name   string
	Target string // entity type name; empty when the simulator does not serve it (written as __deferred only)
	Many   bool
}

type entityType struct {
	Service  string
	Name     string
	Set      string
	Keys     []string
	Props    []prop
	ETagProp string
	Navs     []nav

	index map[string]int
}

func (et *entityType) prop(name string) (prop, bool) {
	if et.index == nil {
		return prop{}, false
	}
	i, ok := et.index[name]
	if !ok {
		return prop{}, false
	}
	return et.Props[i], true
}

func (et *entityType) nav(name string) (nav, bool) {
	for _, n := range et.Navs {
		if n.Name == name {
			return n, true
		}
	}
	return nav{}, false
}

// typesByName and the per-service set index are built once from generatedTypes.
var typesByName = func() map[string]*entityType {
	m := map[string]*entityType{}
	for _, et := range generatedTypes {
		et.index = make(map[string]int, len(et.Props))
		for i, p := range et.Props {
			et.index[p.Name] = i
		}
		m[et.Name] = et
	}
	return m
}()
