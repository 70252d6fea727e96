package deployments_test

// Loading and evaluating Terraform configuration with hashicorp/hcl, so the
// checks in terraform_test.go can assert invariants without the AWS provider
// (which cannot be downloaded here, so `terraform validate` cannot run).
//
// The evaluator is deliberately small: variables take their defaults (or the
// overrides a test passes), locals are evaluated to a fixed point, every
// resource and data source is an unknown value, and a subset of Terraform's
// functions is available. Whatever cannot be evaluated stays unknown; checks
// that need a known value say so in their finding.

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// finding is one broken invariant, located in the configuration.
type finding struct {
	rng hcl.Range
	msg string
}

func (f finding) String() string {
	return fmt.Sprintf("%s:%d: %s", f.rng.Filename, f.rng.Start.Line, f.msg)
}

func findingf(rng hcl.Range, format string, args ...any) finding {
	return finding{rng: rng, msg: fmt.Sprintf(format, args...)}
}

// reportFindings fails t with one line per finding.
func reportFindings(t *testing.T, what string, fs []finding) {
	t.Helper()
	if len(fs) == 0 {
		return
	}
	lines := make([]string, len(fs))
	for i, f := range fs {
		lines[i] = f.String()
	}
	t.Errorf("%s: %d problem(s):\n%s", what, len(fs), strings.Join(lines, "\n"))
}

// tfBlock is a resource, data source, module call or output.
type tfBlock struct {
	kind  string // resource, data, module, output
	typ   string // resource or data type; empty for module and output
	name  string
	block *hclsyntax.Block
}

func (b *tfBlock) body() *hclsyntax.Body { return b.block.Body }
func (b *tfBlock) addr() string {
	switch b.kind {
	case "resource":
		return b.typ + "." + b.name
	case "data":
		return "data." + b.typ + "." + b.name
	default:
		return b.kind + "." + b.name
	}
}

type tfVariable struct {
	name  string
	block *hclsyntax.Block
}

// module is the parsed content of one Terraform module directory.
type module struct {
	dir       string // on disk ("" for inline sources)
	bodies    []*hclsyntax.Body
	variables map[string]*tfVariable
	locals    map[string]*hclsyntax.Attribute
	blocks    []*tfBlock
	terraform []*hclsyntax.Block
}

// loadModuleDir parses every .tf file of dir; names in findings are shown
// relative to the repository root.
func loadModuleDir(t *testing.T, dir string) *module {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read module %s: %v", dir, err)
	}
	srcs := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".tf") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		srcs[filepath.ToSlash(filepath.Join("deployments", dir, e.Name()))] = b
	}
	if len(srcs) == 0 {
		t.Fatalf("no .tf files in %s", dir)
	}
	m := parseModule(t, srcs)
	m.dir = dir
	return m
}

// loadModuleSource parses inline configuration (for the checkers' own tests).
func loadModuleSource(t *testing.T, src string) *module {
	t.Helper()
	return parseModule(t, map[string][]byte{"inline.tf": []byte(src)})
}

func parseModule(t *testing.T, srcs map[string][]byte) *module {
	t.Helper()
	m := &module{variables: map[string]*tfVariable{}, locals: map[string]*hclsyntax.Attribute{}}
	names := make([]string, 0, len(srcs))
	for n := range srcs {
		names = append(names, n)
	}
	sort.Strings(names)
	p := hclparse.NewParser()
	for _, n := range names {
		f, diags := p.ParseHCL(srcs[n], n)
		if diags.HasErrors() {
			t.Fatalf("parse %s: %s", n, diags.Error())
		}
		body := f.Body.(*hclsyntax.Body)
		m.bodies = append(m.bodies, body)
		if len(body.Attributes) > 0 {
			for _, a := range body.Attributes {
				t.Fatalf("%s:%d: unexpected top-level attribute %q", n, a.SrcRange.Start.Line, a.Name)
			}
		}
		for _, b := range body.Blocks {
			switch b.Type {
			case "variable":
				if _, dup := m.variables[b.Labels[0]]; dup {
					t.Fatalf("%s:%d: variable %q declared twice", n, b.DefRange().Start.Line, b.Labels[0])
				}
				m.variables[b.Labels[0]] = &tfVariable{name: b.Labels[0], block: b}
			case "locals":
				for name, a := range b.Body.Attributes {
					if _, dup := m.locals[name]; dup {
						t.Fatalf("%s:%d: local %q declared twice", n, a.SrcRange.Start.Line, name)
					}
					m.locals[name] = a
				}
			case "resource", "data":
				m.blocks = append(m.blocks, &tfBlock{kind: b.Type, typ: b.Labels[0], name: b.Labels[1], block: b})
			case "module", "output":
				m.blocks = append(m.blocks, &tfBlock{kind: b.Type, name: b.Labels[0], block: b})
			case "terraform":
				m.terraform = append(m.terraform, b)
			case "provider", "check", "moved", "import", "removed":
			default:
				t.Fatalf("%s:%d: unknown top-level block %q", n, b.DefRange().Start.Line, b.Type)
			}
		}
	}
	return m
}

// all returns the blocks of one kind and type (typ "" matches any type).
func (m *module) all(kind, typ string) []*tfBlock {
	var out []*tfBlock
	for _, b := range m.blocks {
		if b.kind == kind && (typ == "" || b.typ == typ) {
			out = append(out, b)
		}
	}
	return out
}

func (m *module) resources(typ string) []*tfBlock { return m.all("resource", typ) }

func (m *module) find(kind, typ, name string) *tfBlock {
	for _, b := range m.blocks {
		if b.kind == kind && b.typ == typ && b.name == name {
			return b
		}
	}
	return nil
}

// everyAttribute calls fn for every attribute anywhere in the module,
// nested blocks included.
func (m *module) everyAttribute(fn func(a *hclsyntax.Attribute)) {
	var walk func(b *hclsyntax.Body)
	walk = func(b *hclsyntax.Body) {
		names := make([]string, 0, len(b.Attributes))
		for n := range b.Attributes {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fn(b.Attributes[n])
		}
		for _, nb := range b.Blocks {
			walk(nb.Body)
		}
	}
	for _, b := range m.bodies {
		walk(b)
	}
}

// nestedBlocks returns the direct child blocks of a type.
func nestedBlocks(b *hclsyntax.Body, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, nb := range b.Blocks {
		if nb.Type == typ {
			out = append(out, nb)
		}
	}
	return out
}

func nestedBlock(b *hclsyntax.Body, typ string) *hclsyntax.Block {
	bs := nestedBlocks(b, typ)
	if len(bs) == 0 {
		return nil
	}
	return bs[0]
}

// refs returns the names N of the references root.N... in expr
// (e.g. refs(expr, "aws_sqs_queue") -> ["events"]).
func refs(expr hclsyntax.Expression, root string) []string {
	var out []string
	for _, tr := range expr.Variables() {
		if tr.RootName() != root || len(tr) < 2 {
			continue
		}
		if a, ok := tr[1].(hcl.TraverseAttr); ok {
			out = append(out, a.Name)
		}
	}
	return out
}

// jsonencodeObject returns the object constructor passed to jsonencode, or
// nil when expr is not jsonencode({...}).
func jsonencodeObject(expr hclsyntax.Expression) *hclsyntax.ObjectConsExpr {
	call, ok := expr.(*hclsyntax.FunctionCallExpr)
	if !ok || call.Name != "jsonencode" || len(call.Args) != 1 {
		return nil
	}
	obj, _ := call.Args[0].(*hclsyntax.ObjectConsExpr)
	return obj
}

// objectItem returns the value expression of key in an object constructor.
func objectItem(obj *hclsyntax.ObjectConsExpr, key string) hclsyntax.Expression {
	for _, it := range obj.Items {
		k, diags := it.KeyExpr.Value(nil)
		if diags.HasErrors() || !k.IsKnown() || k.IsNull() || k.Type() != cty.String {
			continue
		}
		if k.AsString() == key {
			return it.ValueExpr
		}
	}
	return nil
}

// findObjectItem returns the value expression of key in the first object
// constructor inside expr that has it (e.g. an environment map inside a
// merge(...)), or nil.
func findObjectItem(expr hclsyntax.Expression, key string) hclsyntax.Expression {
	var found hclsyntax.Expression
	hclsyntax.VisitAll(expr, func(n hclsyntax.Node) hcl.Diagnostics {
		if obj, ok := n.(*hclsyntax.ObjectConsExpr); ok && found == nil {
			found = objectItem(obj, key)
		}
		return nil
	})
	return found
}

// referencesAttr reports whether expr refers to typ.name.attr (e.g.
// aws_dynamodb_table.batches.name).
func referencesAttr(expr hclsyntax.Expression, typ, name, attr string) bool {
	for _, tr := range expr.Variables() {
		if tr.RootName() != typ || len(tr) < 3 {
			continue
		}
		n, ok1 := tr[1].(hcl.TraverseAttr)
		a, ok2 := tr[2].(hcl.TraverseAttr)
		if ok1 && ok2 && n.Name == name && a.Name == attr {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------

type evaluator struct {
	m   *module
	ctx *hcl.EvalContext
}

// evaluate prepares an evaluation context: variable defaults replaced by
// overrides, locals evaluated as far as they can be.
func (m *module) evaluate(t *testing.T, overrides map[string]cty.Value) *evaluator {
	t.Helper()
	for name := range overrides {
		if m.variables[name] == nil {
			t.Fatalf("override of undeclared variable %q", name)
		}
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{}, Functions: terraformFunctions()}
	abs, _ := filepath.Abs(m.dir)
	ctx.Variables["path"] = cty.ObjectVal(map[string]cty.Value{
		"module": cty.StringVal(abs), "root": cty.StringVal(abs), "cwd": cty.StringVal(abs),
	})
	ctx.Variables["terraform"] = cty.ObjectVal(map[string]cty.Value{"workspace": cty.StringVal("default")})
	for _, b := range m.blocks {
		if b.kind == "resource" {
			ctx.Variables[b.typ] = cty.DynamicVal
		}
	}
	ctx.Variables["data"] = cty.DynamicVal
	ctx.Variables["module"] = cty.DynamicVal

	vars := map[string]cty.Value{}
	for name, v := range m.variables {
		ty := cty.DynamicPseudoType
		var defaults *typeexpr.Defaults
		if a := v.block.Body.Attributes["type"]; a != nil {
			parsed, defs, diags := typeexpr.TypeConstraintWithDefaults(a.Expr)
			if diags.HasErrors() {
				t.Fatalf("%s:%d: variable %q: bad type: %s", a.SrcRange.Filename, a.SrcRange.Start.Line, name, diags.Error())
			}
			ty, defaults = parsed, defs
		}
		val := cty.UnknownVal(ty)
		if o, ok := overrides[name]; ok {
			val = o
		} else if a := v.block.Body.Attributes["default"]; a != nil {
			d, diags := a.Expr.Value(&hcl.EvalContext{Functions: ctx.Functions})
			if diags.HasErrors() {
				t.Fatalf("%s:%d: variable %q: default is not a constant: %s", a.SrcRange.Filename, a.SrcRange.Start.Line, name, diags.Error())
			}
			val = d
		}
		if defaults != nil { // optional(type, default) attributes, as Terraform fills them
			val = defaults.Apply(val)
		}
		if ty != cty.DynamicPseudoType {
			conv, err := convert.Convert(val, ty)
			if err != nil {
				rng := v.block.DefRange()
				t.Fatalf("%s:%d: variable %q: value %#v does not convert to %s: %v", rng.Filename, rng.Start.Line, name, val, ty.FriendlyName(), err)
			}
			val = conv
		}
		vars[name] = val
	}
	ctx.Variables["var"] = cty.ObjectVal(vars)

	locals := map[string]cty.Value{}
	for name := range m.locals {
		locals[name] = cty.DynamicVal
	}
	for pass := 0; pass <= len(m.locals); pass++ {
		ctx.Variables["local"] = cty.ObjectVal(copyValues(locals))
		changed := false
		for name, a := range m.locals {
			v, diags := a.Expr.Value(ctx)
			if diags.HasErrors() {
				v = cty.DynamicVal
			}
			if !v.RawEquals(locals[name]) {
				locals[name] = v
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	ctx.Variables["local"] = cty.ObjectVal(copyValues(locals))
	return &evaluator{m: m, ctx: ctx}
}

func copyValues(in map[string]cty.Value) map[string]cty.Value {
	out := make(map[string]cty.Value, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// value evaluates expr inside a resource: each, count and self are unknown.
func (e *evaluator) value(expr hclsyntax.Expression) (cty.Value, hcl.Diagnostics) {
	return e.valueIn(e.resourceCtx(), expr)
}

func (e *evaluator) resourceCtx() *hcl.EvalContext {
	c := e.ctx.NewChild()
	c.Variables = map[string]cty.Value{"each": cty.DynamicVal, "count": cty.DynamicVal, "self": cty.DynamicVal}
	return c
}

func (e *evaluator) valueIn(ctx *hcl.EvalContext, expr hclsyntax.Expression) (cty.Value, hcl.Diagnostics) {
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	v, _ = v.UnmarkDeep()
	return v, diags
}

// mayExist is false for a block whose count is known to be 0 or whose
// for_each is known to be empty.
func (e *evaluator) mayExist(b *tfBlock) bool {
	if a := b.body().Attributes["count"]; a != nil {
		v, _ := e.valueIn(e.ctx, a.Expr)
		if n, ok := knownNumber(v); ok && n == 0 {
			return false
		}
	}
	if a := b.body().Attributes["for_each"]; a != nil {
		v, _ := e.valueIn(e.ctx, a.Expr)
		if v.IsWhollyKnown() && !v.IsNull() && v.CanIterateElements() && v.LengthInt() == 0 {
			return false
		}
	}
	return true
}

// attr evaluates the attribute name of body; ok is false when absent.
func (e *evaluator) attr(body *hclsyntax.Body, name string) (v cty.Value, a *hclsyntax.Attribute, ok bool) {
	a = body.Attributes[name]
	if a == nil {
		return cty.NilVal, nil, false
	}
	v, _ = e.value(a.Expr)
	return v, a, true
}

// instance is one expansion of a (possibly dynamic) nested block.
type instance struct {
	body *hclsyntax.Body
	ctx  *hcl.EvalContext
	rng  hcl.Range
}

// expand returns the static blocks of type typ in body and the content of
// the dynamic "typ" blocks whose for_each is not known to be empty.
func (e *evaluator) expand(body *hclsyntax.Body, typ string) []instance {
	var out []instance
	for _, b := range body.Blocks {
		switch {
		case b.Type == typ:
			out = append(out, instance{body: b.Body, ctx: e.resourceCtx(), rng: b.DefRange()})
		case b.Type == "dynamic" && len(b.Labels) == 1 && b.Labels[0] == typ:
			content := nestedBlock(b.Body, "content")
			if content == nil {
				continue
			}
			iter := typ
			if a := b.Body.Attributes["iterator"]; a != nil {
				iter = hcl.ExprAsKeyword(a.Expr)
			}
			forEach := cty.DynamicVal
			if a := b.Body.Attributes["for_each"]; a != nil {
				forEach, _ = e.value(a.Expr)
			}
			if !forEach.IsWhollyKnown() || forEach.IsNull() || !(forEach.CanIterateElements()) {
				c := e.resourceCtx()
				c.Variables[iter] = cty.DynamicVal
				out = append(out, instance{body: content.Body, ctx: c, rng: b.DefRange()})
				continue
			}
			for it := forEach.ElementIterator(); it.Next(); {
				k, v := it.Element()
				c := e.resourceCtx()
				c.Variables[iter] = cty.ObjectVal(map[string]cty.Value{"key": k, "value": v})
				out = append(out, instance{body: content.Body, ctx: c, rng: b.DefRange()})
			}
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// cty helpers
// ---------------------------------------------------------------------------

func knownString(v cty.Value) (string, bool) {
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() {
		return "", false
	}
	s, err := convert.Convert(v, cty.String)
	if err != nil || !s.IsKnown() || s.IsNull() {
		return "", false
	}
	return s.AsString(), true
}

func knownNumber(v cty.Value) (float64, bool) {
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() {
		return 0, false
	}
	n, err := convert.Convert(v, cty.Number)
	if err != nil || !n.IsKnown() || n.IsNull() {
		return 0, false
	}
	f, _ := n.AsBigFloat().Float64()
	return f, true
}

func knownBool(v cty.Value) (bool, bool) {
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() {
		return false, false
	}
	b, err := convert.Convert(v, cty.Bool)
	if err != nil || !b.IsKnown() || b.IsNull() {
		return false, false
	}
	return b.True(), true
}

// elements returns the elements of a known list, tuple or set.
func elements(v cty.Value) ([]cty.Value, bool) {
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() {
		return nil, false
	}
	ty := v.Type()
	if !(ty.IsListType() || ty.IsTupleType() || ty.IsSetType()) {
		return nil, false
	}
	var out []cty.Value
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e)
	}
	return out, true
}

// attrOf returns attribute name of a known object or map value.
func attrOf(v cty.Value, name string) (cty.Value, bool) {
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() {
		return cty.NilVal, false
	}
	ty := v.Type()
	switch {
	case ty.IsObjectType():
		if !ty.HasAttribute(name) {
			return cty.NilVal, false
		}
		return v.GetAttr(name), true
	case ty.IsMapType():
		if !v.HasIndex(cty.StringVal(name)).True() {
			return cty.NilVal, false
		}
		return v.Index(cty.StringVal(name)), true
	}
	return cty.NilVal, false
}

// keysOf returns the attribute names of a known object or map.
func keysOf(v cty.Value) ([]string, bool) {
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() {
		return nil, false
	}
	ty := v.Type()
	if !ty.IsObjectType() && !ty.IsMapType() {
		return nil, false
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		k, _ := it.Element()
		out = append(out, k.AsString())
	}
	sort.Strings(out)
	return out, true
}

// ---------------------------------------------------------------------------
// Terraform functions (the subset this configuration uses)
// ---------------------------------------------------------------------------

func terraformFunctions() map[string]function.Function {
	stringPredicate := func(f func(s, affix string) bool) function.Function {
		return function.New(&function.Spec{
			Params: []function.Parameter{{Name: "s", Type: cty.String}, {Name: "affix", Type: cty.String}},
			Type:   function.StaticReturnType(cty.Bool),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				return cty.BoolVal(f(args[0].AsString(), args[1].AsString())), nil
			},
		})
	}
	boolFold := func(all bool) function.Function {
		return function.New(&function.Spec{
			Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
			Type:   function.StaticReturnType(cty.Bool),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				for it := args[0].ElementIterator(); it.Next(); {
					_, v := it.Element()
					if !v.IsKnown() {
						return cty.UnknownVal(cty.Bool), nil
					}
					if v.True() != all {
						return cty.BoolVal(!all), nil
					}
				}
				return cty.BoolVal(all), nil
			},
		})
	}
	length := function.New(&function.Spec{
		Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowDynamicType: true, AllowUnknown: true}},
		Type:   function.StaticReturnType(cty.Number),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			v := args[0]
			if v.Type() == cty.String {
				return stdlib.Strlen(v)
			}
			if !v.IsKnown() {
				return cty.UnknownVal(cty.Number), nil
			}
			return v.Length(), nil
		},
	})
	one := function.New(&function.Spec{
		Params: []function.Parameter{{Name: "list", Type: cty.DynamicPseudoType}},
		Type: func(args []cty.Value) (cty.Type, error) {
			ty := args[0].Type()
			switch {
			case ty.IsListType() || ty.IsSetType():
				return ty.ElementType(), nil
			case ty.IsTupleType() && len(ty.TupleElementTypes()) == 1:
				return ty.TupleElementTypes()[0], nil
			case ty.IsTupleType():
				return cty.DynamicPseudoType, nil
			}
			return cty.NilType, fmt.Errorf("one: want a list, set or tuple")
		},
		Impl: func(args []cty.Value, ret cty.Type) (cty.Value, error) {
			v := args[0]
			switch v.LengthInt() {
			case 0:
				return cty.NullVal(ret), nil
			case 1:
				it := v.ElementIterator()
				it.Next()
				_, e := it.Element()
				return e, nil
			}
			return cty.NilVal, fmt.Errorf("one: more than one element")
		},
	})
	abspath := function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p, err := filepath.Abs(args[0].AsString())
			return cty.StringVal(filepath.ToSlash(p)), err
		},
	})
	cidrhost := function.New(&function.Spec{
		Params: []function.Parameter{{Name: "prefix", Type: cty.String}, {Name: "hostnum", Type: cty.Number}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			ip, _, err := net.ParseCIDR(args[0].AsString())
			if err != nil {
				return cty.NilVal, err
			}
			return cty.StringVal(ip.String()), nil
		},
	})
	// Functions reading files or hashing packages depend on the machine:
	// their results stay unknown.
	unknownString := function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
			return cty.UnknownVal(cty.String), nil
		},
	})
	unknownBool := function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
			return cty.UnknownVal(cty.Bool), nil
		},
	})
	// sum(list): Terraform's, which refuses an empty list.
	sum := function.New(&function.Spec{
		Params: []function.Parameter{{Name: "list", Type: cty.DynamicPseudoType}},
		Type:   function.StaticReturnType(cty.Number),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			els, ok := elements(args[0])
			if !ok || len(els) == 0 {
				return cty.NilVal, fmt.Errorf("sum: want a non-empty list of numbers")
			}
			total := cty.Zero
			for _, el := range els {
				n, err := convert.Convert(el, cty.Number)
				if err != nil {
					return cty.NilVal, fmt.Errorf("sum: %w", err)
				}
				if !n.IsKnown() {
					return cty.UnknownVal(cty.Number), nil
				}
				total = total.Add(n)
			}
			return total, nil
		},
	})
	return map[string]function.Function{
		"abs":              stdlib.AbsoluteFunc,
		"abspath":          abspath,
		"alltrue":          boolFold(true),
		"anytrue":          boolFold(false),
		"can":              tryfunc.CanFunc,
		"ceil":             stdlib.CeilFunc,
		"cidrhost":         cidrhost,
		"coalesce":         stdlib.CoalesceFunc,
		"coalescelist":     stdlib.CoalesceListFunc,
		"compact":          stdlib.CompactFunc,
		"concat":           stdlib.ConcatFunc,
		"contains":         stdlib.ContainsFunc,
		"distinct":         stdlib.DistinctFunc,
		"element":          stdlib.ElementFunc,
		"endswith":         stringPredicate(strings.HasSuffix),
		"fileexists":       unknownBool,
		"filebase64sha256": unknownString,
		"flatten":          stdlib.FlattenFunc,
		"floor":            stdlib.FloorFunc,
		"format":           stdlib.FormatFunc,
		"join":             stdlib.JoinFunc,
		"jsondecode":       stdlib.JSONDecodeFunc,
		"jsonencode":       stdlib.JSONEncodeFunc,
		"keys":             stdlib.KeysFunc,
		"length":           length,
		"lookup":           stdlib.LookupFunc,
		"lower":            stdlib.LowerFunc,
		"max":              stdlib.MaxFunc,
		"merge":            stdlib.MergeFunc,
		"min":              stdlib.MinFunc,
		"one":              one,
		"regex":            stdlib.RegexFunc,
		"regexall":         stdlib.RegexAllFunc,
		"replace":          stdlib.ReplaceFunc,
		"setsubtract":      stdlib.SetSubtractFunc,
		"sort":             stdlib.SortFunc,
		"split":            stdlib.SplitFunc,
		"startswith":       stringPredicate(strings.HasPrefix),
		"substr":           stdlib.SubstrFunc,
		"sum":              sum,
		"tobool":           stdlib.MakeToFunc(cty.Bool),
		"tolist":           stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":            stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"tonumber":         stdlib.MakeToFunc(cty.Number),
		"toset":            stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring":         stdlib.MakeToFunc(cty.String),
		"try":              tryfunc.TryFunc,
		"upper":            stdlib.UpperFunc,
		"values":           stdlib.ValuesFunc,
	}
}

// decodeJSON is a small helper for container definitions given as a known
// JSON string rather than jsonencode(...).
func decodeJSON(s string) (cty.Value, error) {
	var probe any
	if err := json.Unmarshal([]byte(s), &probe); err != nil {
		return cty.NilVal, err
	}
	return stdlib.JSONDecode(cty.StringVal(s))
}
