# Secret containers only. Their values are put out of band
# (`aws secretsmanager put-secret-value`, see deployments/README.md), so no
# credential ever appears in Terraform variables, plans or state. There is
# deliberately no aws_secretsmanager_secret_version here.

resource "aws_secretsmanager_secret" "genesys" {
  count = var.genesys_secret_arn == null ? 1 : 0

  name                    = "${var.name}/genesys-oauth-client"
  description             = "Genesys Cloud OAuth client credentials grant for ${var.name}: JSON {\"client_id\": \"...\", \"client_secret\": \"...\"}"
  kms_key_id              = var.secrets_kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = local.tags
}

resource "aws_secretsmanager_secret" "temporal" {
  count = local.temporal_needs_secret && var.temporal_secret_arn == null ? 1 : 0

  name                    = "${var.name}/temporal"
  description             = "Temporal API key for ${var.name}: JSON {\"api_key\": \"...\"}"
  kms_key_id              = var.secrets_kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = local.tags
}

# The HMAC key of store_contact_addresses = "hashed". The worker reads it
# itself, once at start, with its task role (CONTACT_HASH_KEY_SECRET_ARN), so
# the key is never in the container's environment. Its value is the key: the
# secret's string without surrounding white space (or its binary value), at
# least 32 bytes.
resource "aws_secretsmanager_secret" "contact_hash_key" {
  count = local.hash_contacts && var.contact_hash_key_secret_arn == null ? 1 : 0

  name                    = "${var.name}/contact-hash-key"
  description             = "HMAC-SHA256 key of the customer contact addresses ${var.name} stores hashed (STORE_CONTACT_ADDRESSES=hashed): at least 32 bytes, the secret string itself (no JSON). A new key changes every hash written afterwards."
  kms_key_id              = var.secrets_kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = local.tags
}
