import { createSecretKey } from 'node:crypto';
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { MulterModule } from '@nestjs/platform-express';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { AccountDeletionService } from './account-deletion.service.js';
import { AddressRateLimit } from './address-rate-limit.service.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { AvatarUploadLimit } from './avatar-upload-limit.service.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import { LoginThrottle } from './login-throttle.service.js';
import { MediaPurgeSweep } from './media-purge.sweep.js';
import { PasswordResetController } from './password-reset.controller.js';
import { PasswordResetService } from './password-reset.service.js';
import { ProfileService } from './profile.service.js';
import { JWT_ALGORITHM, JWT_ISSUER, TokenService } from './token.service.js';
import { TokenPurgeJob } from './token-purge.job.js';

@Module({
  imports: [
    JwtModule.registerAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        // A KeyObject, not the string: given a string, jsonwebtoken first tries to parse it as a
        // PEM key on every sign and verify (~0.45 ms each, see docs/benchmarks.md).
        secret: createSecretKey(Buffer.from(config.auth.jwtSecret, 'utf8')),
        signOptions: { algorithm: JWT_ALGORITHM, issuer: JWT_ISSUER },
        verifyOptions: { algorithms: [JWT_ALGORITHM], issuer: JWT_ISSUER },
      }),
    }),
    MulterModule.registerAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        // No `dest`: files stay in memory, bounded by fileSize, until sharp has checked them.
        limits: {
          fileSize: config.auth.avatarMaxBytes,
          files: 1,
          fields: 30,
          fieldSize: 64 * 1024,
        },
      }),
    }),
  ],
  controllers: [AuthController, PasswordResetController],
  providers: [
    AuthService,
    AvatarUploadLimit,
    ProfileService,
    TokenService,
    LoginThrottle,
    AddressRateLimit,
    TokenPurgeJob,
    PasswordResetService,
    AccountDeletionService,
    MediaPurgeSweep,
    { provide: APP_GUARD, useClass: JwtAuthGuard },
  ],
  exports: [AuthService],
})
export class AuthModule {}
