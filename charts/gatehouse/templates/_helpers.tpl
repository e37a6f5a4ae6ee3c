{{/* Name of the chart, overridable. */}}
{{- define "gatehouse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified app name: release-chart, or the release name when it already contains the chart name. */}}
{{- define "gatehouse.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "gatehouse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gatehouse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "gatehouse.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "gatehouse.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The Secret this chart creates for inline database.url / redis.url. */}}
{{- define "gatehouse.connectionsSecret" -}}
{{- printf "%s-connections" (include "gatehouse.fullname" .) -}}
{{- end -}}

{{/* True when the store is the embedded SQLite file (no DATABASE_URL given, or a sqlite: one). */}}
{{- define "gatehouse.usesSqlite" -}}
{{- if and (not .Values.database.existingSecret) (or (not .Values.database.url) (hasPrefix "sqlite:" .Values.database.url)) -}}true{{- end -}}
{{- end -}}

{{/* Refuse values that cannot work; called from the Deployment. */}}
{{- define "gatehouse.validate" -}}
{{- if not .Values.issuer -}}
{{- fail "issuer: required (the public https URL, e.g. https://id.example.com)" -}}
{{- end -}}
{{- if not (hasPrefix "https://" .Values.issuer) -}}
{{- fail (printf "issuer: got %q; expected an https URL (production refuses http)" .Values.issuer) -}}
{{- end -}}
{{- if not .Values.existingSecret -}}
{{- fail "existingSecret: required: a Secret with COOKIE_KEYS and KEY_ENCRYPTION_KEYS (see values.yaml)" -}}
{{- end -}}
{{- range $name := list "COOKIE_KEYS" "KEY_ENCRYPTION_KEYS" "DATABASE_URL" "REDIS_URL" "SMTP_URL" "NODE_ENV" "ISSUER" "TRUST_PROXY" "FEDERATION_FILE" "PORT" "HOST" -}}
{{- if hasKey $.Values.config $name -}}
{{- fail (printf "config.%s: set by the chart (existingSecret, database, redis, mail, issuer, trustProxy or federation values), not in config" $name) -}}
{{- end -}}
{{- end -}}
{{- if and (include "gatehouse.usesSqlite" .) (or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled) -}}
{{- fail "database: the embedded SQLite store serves one replica only; set database.url or database.existingSecret to postgres:// or mongodb:// (or replicaCount: 1 with autoscaling off)" -}}
{{- end -}}
{{- end -}}
