from tortoise import migrations
from tortoise.migrations import operations as ops
from leadwire.core.models.identity import AccountKind, AccountStatus
from leadwire.core.models.leads import LeadOrigin
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Account',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='OPERATOR: operator\nPARTNER: partner', enum_type=AccountKind, max_length=16)),
                ('name', fields.CharField(max_length=200)),
                ('currency', fields.CharField(default='USD', db_default='USD', max_length=3)),
                ('status', fields.CharEnumField(default=AccountStatus.ACTIVE, description='ACTIVE: active\nCLOSED: closed', enum_type=AccountStatus, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'account', 'app': 'leadwire', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LeadSource',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('leadwire.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='lead_sources', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('disabled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'lead_source', 'app': 'leadwire', 'unique_together': (('account', 'name'),), 'pk_attr': 'id', 'table_description': 'A seller of leads to the marketplace (a web form, a partner site, an API client).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LeadSourceKey',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('source', fields.ForeignKeyField('leadwire.LeadSource', source_field='source_id', db_constraint=True, to_field='id', related_name='keys', on_delete=OnDelete.CASCADE)),
                ('prefix', fields.CharField(max_length=16)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'lead_source_key', 'app': 'leadwire', 'pk_attr': 'id', 'table_description': 'An API key a lead source posts leads with (stored hashed).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LoginFailure',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(max_length=254)),
                ('ip', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'login_failure', 'app': 'leadwire', 'indexes': [Index(fields=['email', 'ip', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One failed login, kept to rate-limit guessing per e-mail and IP across processes.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Person',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('name', fields.CharField(max_length=200)),
                ('password_hash', fields.CharField(max_length=200)),
                ('time_zone', fields.CharField(default='UTC', max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('password_changed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'person', 'app': 'leadwire', 'pk_attr': 'id', 'table_description': 'One human: one e-mail, one password, one time zone, any number of accounts.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Membership',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('leadwire.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.RESTRICT)),
                ('person', fields.ForeignKeyField('leadwire.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.RESTRICT)),
                ('manager', fields.ForeignKeyField('leadwire.Membership', source_field='manager_id', null=True, db_constraint=True, to_field='id', related_name='reports', on_delete=OnDelete.RESTRICT)),
                ('tree_path', fields.CharField(db_index=True, max_length=1024)),
                ('owner_slot', fields.SmallIntField(null=True)),
                ('barred_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'membership', 'app': 'leadwire', 'unique_together': (('account', 'person'), ('account', 'owner_slot')), 'pk_attr': 'id', 'table_description': "A person's user in one account, with their place in its manager tree."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ApiToken',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('membership', fields.ForeignKeyField('leadwire.Membership', source_field='membership_id', db_constraint=True, to_field='id', related_name='api_tokens', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('prefix', fields.CharField(max_length=16)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_token', 'app': 'leadwire', 'pk_attr': 'id', 'table_description': 'A personal API token for third-party frontends, scoped to one membership.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Lead',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('leadwire.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='leads', on_delete=OnDelete.RESTRICT)),
                ('assignee', fields.ForeignKeyField('leadwire.Membership', source_field='assignee_id', null=True, db_constraint=True, to_field='id', related_name='assigned_leads', on_delete=OnDelete.RESTRICT)),
                ('origin', fields.CharEnumField(default=LeadOrigin.MANUAL, description='MARKETPLACE: marketplace\nREGISTRATION: registration\nIMPORT: import\nMANUAL: manual', enum_type=LeadOrigin, max_length=16)),
                ('first_name', fields.CharField(default='', max_length=100)),
                ('last_name', fields.CharField(default='', max_length=100)),
                ('email', fields.CharField(default='', max_length=254)),
                ('phone', fields.CharField(default='', max_length=32)),
                ('postal_code', fields.CharField(default='', max_length=10)),
                ('city', fields.CharField(default='', max_length=100)),
                ('state', fields.CharField(default='', max_length=2)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'lead', 'app': 'leadwire', 'indexes': [Index(fields=['account_id', 'created_at']), Index(fields=['assignee_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Session',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('membership', fields.ForeignKeyField('leadwire.Membership', source_field='membership_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('csrf_token', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ip', fields.CharField(default='', max_length=64)),
                ('user_agent', fields.CharField(default='', max_length=300)),
            ],
            options={'table': 'session', 'app': 'leadwire', 'pk_attr': 'id', 'table_description': 'A browser session (admin UI), scoped to one membership.'},
            bases=['Model'],
        ),
    ]
