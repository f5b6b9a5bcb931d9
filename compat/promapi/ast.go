package promapi

import (
	"strconv"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// The JSON tree of /api/v1/parse_query, the shape the Prometheus UI's
// "explain" view reads. Struct fields are declared in alphabetical order of
// their JSON names: Prometheus encodes this tree from maps, whose keys come
// out sorted, and clients compare bytes.

type jsonMatcher struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

type jsonSelector struct {
	Anchored   bool          `json:"anchored"`
	Matchers   []jsonMatcher `json:"matchers"`
	Name       string        `json:"name"`
	Offset     int64         `json:"offset"`
	OffsetExpr any           `json:"offsetExpr"`
	Range      *int64        `json:"range,omitempty"`
	RangeExpr  *any          `json:"rangeExpr,omitempty"`
	Smoothed   bool          `json:"smoothed"`
	StartOrEnd *string       `json:"startOrEnd"`
	Timestamp  *int64        `json:"timestamp"`
	Type       string        `json:"type"`
}

type jsonSubquery struct {
	Expr       any     `json:"expr"`
	Offset     int64   `json:"offset"`
	OffsetExpr any     `json:"offsetExpr"`
	Range      int64   `json:"range"`
	RangeExpr  any     `json:"rangeExpr"`
	StartOrEnd *string `json:"startOrEnd"`
	Step       int64   `json:"step"`
	StepExpr   any     `json:"stepExpr"`
	Timestamp  *int64  `json:"timestamp"`
	Type       string  `json:"type"`
}

type jsonAggregation struct {
	Expr     any      `json:"expr"`
	Grouping []string `json:"grouping"`
	Op       string   `json:"op"`
	Param    any      `json:"param"`
	Type     string   `json:"type"`
	Without  bool     `json:"without"`
}

type jsonFill struct {
	LHS *float64 `json:"lhs"`
	RHS *float64 `json:"rhs"`
}

type jsonMatching struct {
	Card       string   `json:"card"`
	FillValues jsonFill `json:"fillValues"`
	Include    []string `json:"include"`
	Labels     []string `json:"labels"`
	On         bool     `json:"on"`
}

type jsonBinary struct {
	Bool     bool          `json:"bool"`
	LHS      any           `json:"lhs"`
	Matching *jsonMatching `json:"matching"`
	Op       string        `json:"op"`
	RHS      any           `json:"rhs"`
	Type     string        `json:"type"`
}

type jsonFunc struct {
	ArgTypes   []parser.ValueType `json:"argTypes"`
	Name       string             `json:"name"`
	ReturnType parser.ValueType   `json:"returnType"`
	Variadic   int                `json:"variadic"`
}

type jsonCall struct {
	Args []any    `json:"args"`
	Func jsonFunc `json:"func"`
	Type string   `json:"type"`
}

type jsonNumber struct {
	Duration *bool  `json:"duration,omitempty"`
	Type     string `json:"type"`
	Val      string `json:"val"`
}

type jsonDuration struct {
	LHS     any    `json:"lhs"`
	Op      string `json:"op"`
	RHS     any    `json:"rhs"`
	Type    string `json:"type"`
	Wrapped bool   `json:"wrapped"`
}

type jsonWrapped struct { // parenExpr, unaryExpr, stringLiteral
	Expr any     `json:"expr,omitempty"`
	Op   string  `json:"op,omitempty"`
	Type string  `json:"type"`
	Val  *string `json:"val,omitempty"`
}

// explain converts a parsed expression into the parse_query tree.
func explain(e parser.Expr) any {
	switch n := e.(type) {
	case nil:
		return nil
	case *parser.VectorSelector:
		return selectorJSON(n, "vectorSelector")
	case *parser.MatrixSelector:
		vs := n.VectorSelector.(*parser.VectorSelector)
		out := selectorJSON(vs, "matrixSelector")
		r := n.Range.Milliseconds()
		rx := explainDuration(n.RangeExpr)
		out.Range, out.RangeExpr = &r, &rx
		return out
	case *parser.SubqueryExpr:
		return jsonSubquery{
			Expr: explain(n.Expr), Type: "subquery",
			Range: n.Range.Milliseconds(), RangeExpr: explainDuration(n.RangeExpr),
			Offset: n.OriginalOffset.Milliseconds(), OffsetExpr: explainDuration(n.OriginalOffsetExpr),
			Step: n.Step.Milliseconds(), StepExpr: explainDuration(n.StepExpr),
			Timestamp: n.Timestamp, StartOrEnd: itemName(n.StartOrEnd),
		}
	case *parser.AggregateExpr:
		return jsonAggregation{Type: "aggregation", Op: n.Op.String(), Expr: explain(n.Expr),
			Param: explain(n.Param), Grouping: nonNil(n.Grouping), Without: n.Without}
	case *parser.BinaryExpr:
		out := jsonBinary{Type: "binaryExpr", Op: n.Op.String(), LHS: explain(n.LHS), RHS: explain(n.RHS), Bool: n.ReturnBool}
		if m := n.VectorMatching; m != nil {
			out.Matching = &jsonMatching{Card: m.Card.String(), Labels: nonNil(m.MatchingLabels), On: m.On,
				Include: nonNil(m.Include), FillValues: jsonFill{LHS: m.FillValues.LHS, RHS: m.FillValues.RHS}}
		}
		return out
	case *parser.Call:
		args := make([]any, 0, len(n.Args))
		for _, a := range n.Args {
			args = append(args, explain(a))
		}
		return jsonCall{Type: "call", Args: args, Func: jsonFunc{Name: n.Func.Name, ArgTypes: n.Func.ArgTypes,
			Variadic: n.Func.Variadic, ReturnType: n.Func.ReturnType}}
	case *parser.DurationExpr:
		return explainDuration(n)
	case *parser.NumberLiteral:
		return jsonNumber{Type: "numberLiteral", Val: strconv.FormatFloat(n.Val, 'f', -1, 64)}
	case *parser.ParenExpr:
		return jsonWrapped{Type: "parenExpr", Expr: explain(n.Expr)}
	case *parser.UnaryExpr:
		return jsonWrapped{Type: "unaryExpr", Op: n.Op.String(), Expr: explain(n.Expr)}
	case *parser.StringLiteral:
		return jsonWrapped{Type: "stringLiteral", Val: &n.Val}
	}
	// A node type of a newer parser: describe it instead of failing.
	return map[string]string{"type": "unknown"}
}

// explainDuration converts the expression form of a range, offset or step.
func explainDuration(e parser.Expr) any {
	switch n := e.(type) {
	case nil:
		return nil
	case *parser.DurationExpr:
		if n == nil {
			return nil
		}
		return jsonDuration{Type: "durationExpr", Op: n.Op.String(), LHS: explainDuration(n.LHS),
			RHS: explainDuration(n.RHS), Wrapped: n.Wrapped}
	case *parser.NumberLiteral:
		if n == nil {
			return nil
		}
		return jsonNumber{Type: "numberLiteral", Val: strconv.FormatFloat(n.Val, 'f', -1, 64), Duration: &n.Duration}
	}
	return explain(e)
}

func selectorJSON(vs *parser.VectorSelector, typ string) jsonSelector {
	ms := make([]jsonMatcher, len(vs.LabelMatchers))
	for i, m := range vs.LabelMatchers {
		ms[i] = jsonMatcher{Name: m.Name, Type: matchType(m), Value: m.Value}
	}
	return jsonSelector{Type: typ, Name: vs.Name, Matchers: ms,
		Offset: vs.OriginalOffset.Milliseconds(), OffsetExpr: explainDuration(vs.OriginalOffsetExpr),
		Timestamp: vs.Timestamp, StartOrEnd: itemName(vs.StartOrEnd), Anchored: vs.Anchored, Smoothed: vs.Smoothed}
}

func matchType(m *labels.Matcher) string { return m.Type.String() }

// itemName names the @ start() / @ end() modifier, nil when absent.
func itemName(t parser.ItemType) *string {
	if t == 0 {
		return nil
	}
	s := t.String()
	return &s
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
