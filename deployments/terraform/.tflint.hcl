# TFLint configuration for deployments/terraform (module and examples).
# Only the terraform ruleset bundled in the tflint binary is used: no plugin
# is downloaded (`tflint --init` is never needed), so this runs offline.
# Run through `make deployments-check`.

config {
  # Inspect calls to local modules (../../modules/...) from the examples.
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "recommended"
}

# Beyond the recommended preset: the module is meant to be read and reused.
rule "terraform_documented_variables" {
  enabled = true
}

rule "terraform_documented_outputs" {
  enabled = true
}

rule "terraform_naming_convention" {
  enabled = true
}

rule "terraform_standard_module_structure" {
  enabled = true
}
