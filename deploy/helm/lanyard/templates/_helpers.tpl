{{/* Chart name, truncated to the 63 characters Kubernetes allows. */}}
{{- define "lanyard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release full name; resources append "-<role>" to it. */}}
{{- define "lanyard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "lanyard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every resource. */}}
{{- define "lanyard.labels" -}}
helm.sh/chart: {{ include "lanyard.chart" . }}
{{ include "lanyard.selectorLabels" . }}
app.kubernetes.io/version: {{ (default .Chart.AppVersion .Values.image.tag) | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lanyard
{{- end -}}

{{- define "lanyard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lanyard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels and selector labels of one role: (dict "root" $ "role" "api"). */}}
{{- define "lanyard.roleLabels" -}}
{{ include "lanyard.labels" .root }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "lanyard.roleSelectorLabels" -}}
{{ include "lanyard.selectorLabels" .root }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{/* What each role runs and listens on. */}}
{{- define "lanyard.roles" -}}
api:
  args: ["serve", "api"]
  port: 4433
  addrEnv: LANYARD_API_ADDR
dashboard:
  args: ["serve", "dashboard"]
  port: 4000
  addrEnv: LANYARD_DASHBOARD_ADDR
worker:
  args: ["worker"]
  port: 4435
  addrEnv: LANYARD_WORKER_ADDR
{{- end -}}

{{- define "lanyard.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "lanyard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "lanyard.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
Environment of every Lanyard container: plain settings from .Values.config
(empty and zero ones left out, so the binary's default applies) and
credentials from the existing Secret. Called with
(dict "root" $ "databaseURLKey" "<Secret key of LANYARD_DATABASE_URL>").
*/}}
{{- define "lanyard.env" -}}
{{- $v := .root.Values -}}
{{- $c := $v.config -}}
{{- $h := $c.hash -}}
{{- $dashboardURL := $c.dashboardURL -}}
{{- if and (not $dashboardURL) $v.ingress.enabled $v.ingress.dashboard.host }}
{{- $dashboardURL = printf "https://%s" $v.ingress.dashboard.host -}}
{{- end }}
{{- $plain := dict
  "LANYARD_MODE" $c.mode
  "LANYARD_PROJECTS_DOMAIN" $c.projectsDomain
  "LANYARD_PROJECTS_URL" $c.projectsURL
  "LANYARD_PUBLIC_SCHEME" $c.publicScheme
  "LANYARD_REDIS_NAMESPACE" $c.redisNamespace
  "LANYARD_LOG_LEVEL" $c.logLevel
  "LANYARD_LOG_FORMAT" $c.logFormat
  "LANYARD_BODY_LIMIT" $c.bodyLimit
  "LANYARD_DB_MAX_CONNS" $c.dbMaxConns
  "LANYARD_SPARE_SCHEMAS" $c.spareSchemas
  "LANYARD_HASH_ALGORITHM" $h.algorithm
  "LANYARD_ARGON2_MEMORY" $h.argon2Memory
  "LANYARD_ARGON2_ITERATIONS" $h.argon2Iterations
  "LANYARD_ARGON2_PARALLELISM" $h.argon2Parallelism
  "LANYARD_BCRYPT_COST" $h.bcryptCost
  "LANYARD_SHUTDOWN_TIMEOUT" $c.shutdownTimeout
  "LANYARD_MAIL_FROM" $c.mailFrom
  "LANYARD_STRIPE_API_BASE" $c.stripeAPIBase
  "LANYARD_DASHBOARD_URL" $dashboardURL
  "LANYARD_HOOK_LOG_RETENTION" $c.hookLogRetention
-}}
{{- range $name := keys $plain | sortAlpha }}
{{- $value := get $plain $name }}
{{- if $value }}
{{- if or (kindIs "float64" $value) (kindIs "int64" $value) (kindIs "int" $value) }}
{{- $value = int64 $value | toString }}
{{- end }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}
{{- $keys := dict "LANYARD_SECRET" "LANYARD_SECRET" "LANYARD_DATABASE_URL" (default "LANYARD_DATABASE_URL" .databaseURLKey) "LANYARD_REDIS_URL" "LANYARD_REDIS_URL" }}
{{- range $name := list "LANYARD_SECRET" "LANYARD_DATABASE_URL" "LANYARD_REDIS_URL" }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $v.existingSecret }}
      key: {{ get $keys $name }}
{{- end }}
{{- range $name := list "LANYARD_SMTP_URL" "LANYARD_STRIPE_SECRET_KEY" "LANYARD_STRIPE_WEBHOOK_SECRET" }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $v.existingSecret }}
      key: {{ $name }}
      optional: true
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Generated pod anti-affinity of a role: (dict "root" $ "role" "api" "mode" "soft"). */}}
{{- define "lanyard.antiAffinity" -}}
{{- if eq .mode "hard" }}
podAntiAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include "lanyard.roleSelectorLabels" . | nindent 10 }}
{{- else if eq .mode "soft" }}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "lanyard.roleSelectorLabels" . | nindent 12 }}
{{- end }}
{{- end -}}
