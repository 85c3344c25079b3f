package valuemap_test

import (
	"fmt"

	"github.com/d365sap/d365sap/shared/valuemap"
)

func ExampleLoad() {
	set, err := valuemap.Load("") // the shipped defaults
	if err != nil {
		panic(err)
	}
	if err := set.Require(valuemap.Units, valuemap.PaymentTerms); err != nil {
		panic(err)
	}
	units := set.Must(valuemap.Units)
	sap, _ := units.SAP("Primary Unit")
	d365, _ := units.D365(sap)
	fmt.Println(sap, d365)
	// Output: EA Each
}
