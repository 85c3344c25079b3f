package sap

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/d365sap/d365sap/infra/local/sapsim/sapkit"
)

// Error bodies as SAP's systems write them. Sources:
//   - SAP Gateway, OData V2: the kit's samples/error_odata_v2.sap-community-blog.json; SAP Help "Error
//     Response" of SAP Gateway (help.sap.com/saphelp_snc700_ehp04/helpdata/de/95/fd2651c294256ee10000000a445394/
//     content.htm, the /IWBEP/CM_TEA example, there in XML); S/4HANA 1909 bodies quoted in
//     shivamVarCS/cdf-sap-batch-plugin-feature-sap-odata-connectionManager, .../exception/proto/ErrorDetail.java
//     and InnerError.java (errordetails as {"errordetail":[...]}).
//   - CAP behind its OData V2 adapter: cap-js-community/odata-v2-adapter, test/main.test.js (the adapter's
//     convertResponseError in src/index.js writes message as {lang, value} and copies the error into
//     errordetails when it has no details, so a detail's message is an object too).
//   - CAP, OData V4: capire/docs, guides/services/constraints.md (@assert.target: code "400", message string,
//     target, @Common.numericSeverity), node.js/events.md (Error Responses; req.error() collected into
//     MULTIPLE_ERRORS with details), node.js/cds-i18n.md (the MULTIPLE_ERRORS text).
//   - S/4HANA OData V4 (RAP): elforsabah/myRap, README.md (innererror.ErrorDetails with @SAP__common.*).
//   - A numeric code: SAP Business One's Service Layer (simply-chocolate/magasin_advicer_v2,
//     sap_api_wrapper/util_ErrorResult.go decodes code as an int).
var errorBodies = []struct {
	name string
	body string // or file, a kit sample
	file string
	want Error // StatusCode 400 unless given; Details compared whole
}{
	{name: "Gateway V2: the kit's sample", file: "error_odata_v2.sap-community-blog.json",
		want: Error{Code: "XX/123", Message: "Account 12345678 does not exist in chart of accounts XXXX", Lang: "en",
			TransactionID: "XXXXXXXXXXXXXXXX", ComponentID: "MM-PUR-REQ", ServiceID: "API_PURCHASEREQ_PROCESS_SRV",
			SAPNote: "See SAP Note 1797736 for error analysis (https://service.sap.com/sap/support/notes/1797736)",
			Details: []ErrorDetail{{Code: "XX/123", Message: "Account 12345678 does not exist in chart of accounts XXXX ", Severity: "error"}}}},
	{name: "Gateway V2: an exception chain with property refs",
		body: `{"error":{"code":"/IWBEP/CM_TEA/004","message":{"lang":"en","value":"Team ID 'TEAM_012345678' is not in the defined range."},
			"innererror":{"transactionid":"4FE1D144B9AD22F2E10000000A420C41","errordetails":[
			{"code":"/IWBEP/CM_TEA/002","message":"'TEAM_012345678' is not a valid ID.","propertyref":"Team/Team_Identifier","severity":"error"},
			{"code":"/IWBEP/CM_TEA/004","message":"Team ID 'TEAM_012345678' is not in the defined range.","propertyref":"Team/Team_Identifier","severity":"error"},
			{"code":"/IWBEP/CX_TEA_BUSINESS","message":"'TEAM_012345678' is not a valid ID.","propertyref":"","severity":"error"}]}}}`,
		want: Error{Code: "/IWBEP/CM_TEA/004", Message: "Team ID 'TEAM_012345678' is not in the defined range.", Lang: "en",
			TransactionID: "4FE1D144B9AD22F2E10000000A420C41", Details: []ErrorDetail{
				{Code: "/IWBEP/CM_TEA/002", Message: "'TEAM_012345678' is not a valid ID.", PropertyRef: "Team/Team_Identifier", Severity: "error"},
				{Code: "/IWBEP/CM_TEA/004", Message: "Team ID 'TEAM_012345678' is not in the defined range.", PropertyRef: "Team/Team_Identifier", Severity: "error"},
				{Code: "/IWBEP/CX_TEA_BUSINESS", Message: "'TEAM_012345678' is not a valid ID.", Severity: "error"}}}},
	{name: "Gateway V2 (S/4HANA 1909): a 404 without details",
		body: `{"error":{"code":"005056A509B11EE1B9A8FEC11C21D78E","message":{"lang":"en","value":"Resource not found for the segment 'Address2'."},
			"innererror":{"transactionid":"C83CB3D2A1420000E00609D31E196BD4","timestamp":"20210524082515.9921880",
			"Error_Resolution":{"SAP_Transaction":"For backend administrators: run transaction /IWFND/ERROR_LOG","SAP_Note":"See SAP Note 1797736 for error analysis (https://service.sap.com/sap/support/notes/1797736)"}}}}`,
		want: Error{StatusCode: 404, Code: "005056A509B11EE1B9A8FEC11C21D78E", Message: "Resource not found for the segment 'Address2'.", Lang: "en",
			TransactionID: "C83CB3D2A1420000E00609D31E196BD4", Timestamp: "20210524082515.9921880",
			SAPNote: "See SAP Note 1797736 for error analysis (https://service.sap.com/sap/support/notes/1797736)"}},
	{name: "Gateway V2: errordetails wrapped in errordetail",
		body: `{"error":{"code":"/IWBEP/CM_TEA/002","message":{"lang":"en","value":"'TEAM_012345678' is not a valid ID."},"innererror":{
			"transactionid":"C83CB3D2A1420000E00609D31E196BD4","errordetails":{"errordetail":[
			{"code":"/IWBEP/CM_TEA/002","message":"'TEAM_012345678' is not a valid ID.","propertyref":"Team/Team_Identifier","severity":"error"}]}}}}`,
		want: Error{Code: "/IWBEP/CM_TEA/002", Message: "'TEAM_012345678' is not a valid ID.", Lang: "en", TransactionID: "C83CB3D2A1420000E00609D31E196BD4",
			Details: []ErrorDetail{{Code: "/IWBEP/CM_TEA/002", Message: "'TEAM_012345678' is not a valid ID.", PropertyRef: "Team/Team_Identifier", Severity: "error"}}}},
	{name: "CAP's V2 adapter: a detail's message is {lang, value}",
		body: `{"error":{"code":"ASSERT_DATA_TYPE","message":{"lang":"en","value":"Value 0123456789a is not a valid String(10)"},
			"severity":"error","target":"text","innererror":{"errordetails":[{"code":"ASSERT_DATA_TYPE",
			"message":{"lang":"en","value":"Value 0123456789a is not a valid String(10)"},"severity":"error","target":"text"}]}}}`,
		want: Error{Code: "ASSERT_DATA_TYPE", Message: "Value 0123456789a is not a valid String(10)", Lang: "en", Target: "text",
			Details: []ErrorDetail{{Code: "ASSERT_DATA_TYPE", Message: "Value 0123456789a is not a valid String(10)", Severity: "error", Target: "text"}}}},
	{name: "CAP's V2 adapter: transition flags, additional targets and content ids",
		body: `{"error":{"code":"ERR01","message":{"lang":"en","value":"An error occurred"},"target":"Header(ID=guid'1b750773-bb1b-4565-8a33-79c99440e4e8',IsActiveEntity=false)/name",
			"additionalTargets":["Header(ID=guid'1b750773-bb1b-4565-8a33-79c99440e4e8',IsActiveEntity=false)/description"],"severity":"error","ContentID":"1",
			"innererror":{"errordetails":[{"code":"ERR02-transition","message":"Error details","target":"Items/description",
			"additionalTargets":["Items/name"],"severity":"error","transition":true,"ContentID":"1"}]}}}`,
		want: Error{Code: "ERR01", Message: "An error occurred", Lang: "en", Target: "Header(ID=guid'1b750773-bb1b-4565-8a33-79c99440e4e8',IsActiveEntity=false)/name",
			Details: []ErrorDetail{{Code: "ERR02-transition", Message: "Error details", Severity: "error", Target: "Items/description"}}}},
	{name: "CAP V4: message a plain string",
		body: `{"error":{"@Common.numericSeverity":4,"code":"400","message":"Value doesn't exist","target":"author_ID"}}`,
		want: Error{Code: "400", Message: "Value doesn't exist", Target: "author_ID"}},
	{name: "CAP V4: MULTIPLE_ERRORS with details",
		body: `{"error":{"code":"MULTIPLE_ERRORS","message":"Multiple errors occurred, see details below.","details":[
			{"code":"400","message":"Invalid input","target":"some_field","@Common.numericSeverity":4},
			{"code":"404","message":"Not found","@Common.numericSeverity":4}]}}`,
		want: Error{Code: "MULTIPLE_ERRORS", Message: "Multiple errors occurred, see details below.", Details: []ErrorDetail{
			{Code: "400", Message: "Invalid input", Severity: "error", Target: "some_field"}, {Code: "404", Message: "Not found", Severity: "error"}}}},
	{name: "S/4HANA V4 (RAP): technical data in innererror.ErrorDetails",
		body: `{"error":{"code":"M_/011","message":"Change indicators could not be uniquely determined in material mapping",
			"@SAP__common.ExceptionCategory":"Provider_Application_Error","innererror":{"ErrorDetails":{
			"@SAP__common.Application":{"ComponentId":"BC-ESI-ESF-GW","ServiceRepository":"SRVD_A2X","ServiceId":"ZSB_LANF_BMS_INTERFACE_V4","ServiceVersion":"0001"},
			"@SAP__common.TransactionId":"F14022DB810C0090E00693874FE4DDEF","@SAP__common.Timestamp":"20260129013334.236743",
			"@SAP__common.ErrorResolution":{"Analysis":"Use ADT feed reader","Note":"See SAP Note 1797736 for error analysis (https://service.sap.com/sap/support/notes/1797736)"}}}}}`,
		want: Error{Code: "M_/011", Message: "Change indicators could not be uniquely determined in material mapping", ComponentID: "BC-ESI-ESF-GW",
			ServiceID: "ZSB_LANF_BMS_INTERFACE_V4", TransactionID: "F14022DB810C0090E00693874FE4DDEF", Timestamp: "20260129013334.236743",
			SAPNote: "See SAP Note 1797736 for error analysis (https://service.sap.com/sap/support/notes/1797736)"}},
	{name: "V4 details with SAP's severity names",
		body: `{"error":{"code":"M7/502","message":"Base date is earlier than current date","target":"ReservationDate","details":[
			{"code":"M7/505","message":"Reqmnt date is earlier than current date","target":"_Item/MatlCompRequirementDate",
			"@SAP__common.longtextUrl":"../T100Longtexts(MessageClass='M7',MessageNumber='505')/Documentation","@SAP__common.Severity":"warning","@SAP__common.numericSeverity":3},
			{"code":"M7/506","message":"numeric only","@SAP__common.numericSeverity":2}]}}`,
		want: Error{Code: "M7/502", Message: "Base date is earlier than current date", Target: "ReservationDate", Details: []ErrorDetail{
			{Code: "M7/505", Message: "Reqmnt date is earlier than current date", Severity: "warning", Target: "_Item/MatlCompRequirementDate"},
			{Code: "M7/506", Message: "numeric only", Severity: "info"}}}},
	{name: "a numeric code", body: `{"error":{"code":-2028,"message":{"lang":"en-us","value":"No matching records found (ODBC -2028)"}}}`,
		want: Error{Code: "-2028", Message: "No matching records found (ODBC -2028)", Lang: "en-us"}},
	{name: "details of every unexpected type keep the code",
		body: `{"error":{"code":"V1/320","message":{"lang":"en","value":"Sold-to party 99 does not exist"},"innererror":{"application":"SD",
			"transactionid":42,"timestamp":null,"Error_Resolution":[],"errordetails":[null,7,true,"a plain text",["x"],
			{"code":{"a":1},"message":42,"severity":true},{"code":"V1/320","message":{"lang":"en"},"target":"SoldToParty"},{}]}}}`,
		want: Error{Code: "V1/320", Message: "Sold-to party 99 does not exist", Lang: "en", TransactionID: "42", Details: []ErrorDetail{
			{Message: "a plain text"}, {Message: "42"}, {Code: "V1/320", Target: "SoldToParty"}}}},
	{name: "innererror and details of the wrong kind",
		body: `{"error":{"code":"V1/320","message":"Sold-to party 99 does not exist","innererror":"see the log","details":{"code":"D1","message":"one detail, not a list"}}}`,
		want: Error{Code: "V1/320", Message: "Sold-to party 99 does not exist", Details: []ErrorDetail{{Code: "D1", Message: "one detail, not a list"}}}},
	{name: "a code without a message takes the first detail's",
		body: `{"error":{"code":"V1/320","message":null,"innererror":{"errordetails":[{"code":"V1/320","message":"Sold-to party 1 does not exist","severity":"error"}]}}}`,
		want: Error{Code: "V1/320", Message: "Sold-to party 1 does not exist", Details: []ErrorDetail{{Code: "V1/320", Message: "Sold-to party 1 does not exist", Severity: "error"}}}},
	{name: "a byte-order mark", body: "\ufeff" + `{"error":{"code":"V1/320","message":{"lang":"en","value":"x"}}}`,
		want: Error{Code: "V1/320", Message: "x", Lang: "en"}},
	{name: "not SAP's: an OAuth error", body: `{"error":"invalid_token","error_description":"expired"}`,
		want: Error{Message: `{"error":"invalid_token","error_description":"expired"}`}},
	{name: "not SAP's: an empty error object", body: `{"error":{"innererror":{"transactionid":"ABC"}}}`,
		want: Error{Message: `{"error":{"innererror":{"transactionid":"ABC"}}}`}},
	{name: "a body cut short is not JSON: an excerpt", body: `{"error":{"code":"V1/320","message":{"lang":"en","value":"cut`,
		want: Error{Message: `{"error":{"code":"V1/320","message":{"lang":"en","value":"cut`}},
}

// Whatever shape message and the details take, the code and the message survive, and with them the difference
// between SAP refusing the content (a 400 with a code: a business error, not retried) and a transport problem.
func TestParseErrorReadsEveryShape(t *testing.T) {
	for _, tc := range errorBodies {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			if tc.file != "" {
				var err error
				if body, err = os.ReadFile(filepath.Join(sapkit.Dir(t), "sap", "samples", tc.file)); err != nil {
					t.Fatal(err)
				}
			}
			want := tc.want
			if want.StatusCode == 0 {
				want.StatusCode = http.StatusBadRequest
			}
			got := parseError(&http.Response{StatusCode: want.StatusCode, Header: http.Header{}}, body)
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("got  %+v\nwant %+v", *got, want)
			}
			if business := want.StatusCode == 400 && want.Code != ""; got.BusinessError() != business {
				t.Errorf("BusinessError() = %v, want %v", got.BusinessError(), business)
			}
		})
	}
}

// Arbitrary bodies: parseError never panics, always says something, and a body whose error.code is a string
// yields that code, whatever else the body holds.
func FuzzParseError(f *testing.F) {
	for _, tc := range errorBodies {
		if tc.body != "" {
			f.Add(400, []byte(tc.body))
		}
	}
	f.Add(503, []byte("<html><title>Service Unavailable</title></html>"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := parseError(&http.Response{StatusCode: status, Header: http.Header{}}, body)
		if e == nil || e.StatusCode != status {
			t.Fatalf("parseError = %+v", e)
		}
		if code, ok := stringCode(body); ok && code != "" && e.Code != code {
			t.Fatalf("error.code %q read as %q from %q", code, e.Code, body)
		}
	})
}

// Every shape of message, details and innererror around a code: the code is never lost.
func FuzzParseErrorKeepsTheCode(f *testing.F) {
	f.Add("V1/320", []byte(`{"lang":"en","value":"x"}`), []byte(`[{"code":"V1/320","message":{"lang":"en","value":"x"}}]`), []byte(`{}`))
	f.Add("400", []byte(`"plain"`), []byte(`{"errordetail":{"message":1}}`), []byte(`"text"`))
	f.Add("ASSERT", []byte(`null`), []byte(`[null,true,[],{}]`), []byte(`{"ErrorDetails":{"@SAP__common.Application":7}}`))
	f.Fuzz(func(t *testing.T, code string, message, details, inner []byte) {
		member := func(b []byte) json.RawMessage {
			if json.Valid(b) {
				return b
			}
			s, _ := json.Marshal(string(b))
			return s
		}
		body, err := json.Marshal(map[string]any{"error": map[string]any{"code": code, "message": member(message),
			"details": member(details), "innererror": member(inner)}})
		if err != nil {
			t.Skip() // a member encoding/json will not re-encode
		}
		want, _ := stringCode(body)
		if want == "" {
			return
		}
		if e := parseError(&http.Response{StatusCode: 400, Header: http.Header{}}, body); e.Code != want || !e.BusinessError() {
			t.Fatalf("code %q read as %q (business %v) from %s", want, e.Code, e.BusinessError(), body)
		}
	})
}

// stringCode is the oracle: error.code when it is a JSON string, read with encoding/json's maps.
func stringCode(body []byte) (string, bool) {
	var doc map[string]any
	if json.Unmarshal(body, &doc) != nil {
		return "", false
	}
	eo, _ := doc["error"].(map[string]any)
	code, ok := eo["code"].(string)
	return code, ok
}
