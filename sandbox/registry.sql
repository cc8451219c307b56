-- The product's master database: the registry of every venue (as the app's cron jobs keep it).
CREATE TABLE "_cron_venue_registry" (
  "slug" TEXT PRIMARY KEY,
  "database_name" TEXT NOT NULL,
  "is_active" BOOLEAN NOT NULL DEFAULT true,
  "nuc_base_url" TEXT,
  "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "updated_at" TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO "_cron_venue_registry" (slug, database_name, is_active, nuc_base_url) VALUES
  ('downtown', 'gwi_pos_downtown', true, NULL),
  ('airport', 'gwi_pos_airport', true, 'http://10.20.0.5:3000'),
  ('harbor-view', 'gwi_pos_harbor_view', true, NULL),
  ('riverside-grill', 'gwi_pos_riverside_grill', true, NULL),
  ('old-mill', 'gwi_pos_old_mill', false, NULL);
